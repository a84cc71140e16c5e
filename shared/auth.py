"""Verifying the gateway's RS256 access tokens and each route's permission.

Every route declares its permission once, ``@router.get(path, **requires("dbs:department:read"))``:
that adds the check and records the permission in the OpenAPI document (``x-permission``),
which the gateway and the permission catalogue read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx2
from fastapi import Depends, Request
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JWTError

from shared.context import principal_var, token_var
from shared.errors import Forbidden, Unauthorized
from shared.i18n import Text

log = logging.getLogger("hamp.auth")

ALGORITHM = "RS256"
PERMISSION_KEY = "x-permission"
RESOURCE_LABEL_KEY = "x-resource-label"
JWKS_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    name: str
    permissions: frozenset[str]
    session_id: str = ""
    # None: every department; otherwise only records of these departments (the role's data scope).
    departments: frozenset[int] | None = None
    must_change_password: bool = False
    # An administrator who must enrol a second factor first: the token opens only the enrolment.
    second_factor_enrolment_required: bool = False
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def can(self, permission: str) -> bool:
        return permission_granted(self.permissions, permission)

    def can_any_of(self, module: str) -> bool:
        """Holds some permission of a module (`dbs`), or everything."""
        return "*" in self.permissions or any(p.split(":", 1)[0] == module for p in self.permissions)


def permission_granted(granted: frozenset[str] | set[str], permission: str) -> bool:
    """`*` grants all; `svc:*` and `svc:resource:*` grant what is below them."""
    if "*" in granted or permission in granted:
        return True
    parts = permission.split(":")
    return any(":".join(parts[:i]) + ":*" in granted for i in range(1, len(parts)))


class KeySet:
    """The gateway's public keys by `kid`, from a JWKS document or fetched from its URL."""

    def __init__(self, jwks_url: str = "", jwks_document: str | dict[str, Any] | None = None) -> None:
        # A configured document is the whole truth and the URL is then never asked: `jwks_url`
        # always has a default (the gateway's default port), and whatever answers there, say a
        # developer's own `hamp up`, would otherwise replace the configured keys on the first
        # unknown `kid`, refusing the right tokens and accepting that stranger's.
        self.jwks_url = "" if jwks_document else jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        # Bumped whenever the keys are replaced: tokens verified under older keys are verified again.
        self.version = 0
        if jwks_document:
            self.load(json.loads(jwks_document) if isinstance(jwks_document, str) else jwks_document)

    def load(self, document: dict[str, Any]) -> None:
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and entry.get("kid"):
                keys[entry["kid"]] = jwk.construct(entry, ALGORITHM)
        self._keys = keys
        self.version += 1

    async def get(self, kid: str) -> Any | None:
        if kid in self._keys:
            return self._keys[kid]
        if not self.jwks_url:
            return None
        async with self._lock:
            # A new kid means the gateway rotated keys; ask again, but not on every bad token.
            if kid not in self._keys and time.monotonic() - self._fetched_at > JWKS_REFRESH_SECONDS:
                self._fetched_at = time.monotonic()
                try:
                    async with httpx2.AsyncClient(timeout=5.0) as client:
                        response = await client.get(self.jwks_url)
                        response.raise_for_status()
                        self.load(response.json())
                except (httpx2.HTTPError, ValueError) as exc:
                    log.warning("cannot fetch JWKS from %s: %s", self.jwks_url, exc)
        return self._keys.get(kid)


VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires_at: float
    keys_version: int


class TokenVerifier:
    """Verifies access tokens. The outcome of verifying a token's signature and claims is kept
    until the token expires, by the exact token string: a client sends the same token for
    minutes, and RS256 costs a tenth of a list read. The extra `checks` (revocation, rate
    limits) run on every request all the same, so a revoked token is refused at once."""

    def __init__(
        self,
        keys: KeySet,
        issuer: str,
        audience: str,
        cache_size: int = VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # Extra checks after the signature (the gateway adds revocation and rate limits).
        self.checks: list[Callable[[Principal], Awaitable[None]]] = []
        self.cache_size = cache_size
        self.clock = clock
        self._verified: dict[str, _Verified] = {}

    async def verify(self, token: str) -> Principal:
        principal = self._cached(token) or await self._verify_signature_and_claims(token)
        for check in self.checks:
            await check(principal)
        return principal

    def _cached(self, token: str) -> Principal | None:
        verified = self._verified.get(token)
        if verified is None:
            return None
        if verified.expires_at <= self.clock() or verified.keys_version != self.keys.version:
            del self._verified[token]
            return None
        return verified.principal

    def _remember(self, token: str, principal: Principal) -> None:
        if len(self._verified) >= self.cache_size:
            # Oldest first (dicts keep insertion order): enough to bound it, and cheap.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = _Verified(principal, float(principal.claims["exp"]), self.keys.version)

    async def _verify_signature_and_claims(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise Unauthorized(Text("令牌格式错误", "Malformed token"), code="token_invalid") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(Text("令牌签名算法不被接受", "Token algorithm not accepted"), code="token_invalid")
        key = await self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise Unauthorized(Text("令牌签名密钥未知", "Token signed by an unknown key"), code="token_invalid")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require_exp": True, "require_sub": True},
            )
        except ExpiredSignatureError as exc:
            raise Unauthorized(Text("登录已过期，请重新登录", "Token expired"), code="token_expired") from exc
        except JWTError as exc:
            raise Unauthorized(Text("令牌无效", "Invalid token"), code="token_invalid") from exc
        if claims.get("typ") != "access":
            raise Unauthorized(Text("不是访问令牌", "Not an access token"), code="token_invalid")
        departments = claims.get("dept")
        principal = Principal(
            user_id=int(claims["sub"]),
            username=str(claims.get("username", "")),
            name=str(claims.get("name", "")),
            permissions=frozenset(claims.get("perms", [])),
            session_id=str(claims.get("sid", "")),
            departments=None if departments is None else frozenset(int(d) for d in departments),
            must_change_password=bool(claims.get("mcp", False)),
            second_factor_enrolment_required=bool(claims.get("sfe", False)),
            claims=claims,
        )
        self._remember(token, principal)
        return principal


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_principal(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(
            Text("请先登录", "Login required"),
            code="not_authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal: Principal = await request.app.state.verifier.verify(token)
    request.state.principal = principal
    principal_var.set(principal)
    token_var.set(token)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class _PermissionCheck:
    def __init__(self, permission: str) -> None:
        self.permission = permission

    # The request, not CurrentPrincipal: FastAPI solves a sub-dependency on every request even when
    # it is cached, and current_principal keeps its answer on the request anyway.
    async def __call__(self, request: Request) -> Principal:
        principal = await current_principal(request)
        require_permission(principal, self.permission)
        return principal


def password_change_required() -> Forbidden:
    return Forbidden(Text("请先修改初始密码", "Change your initial password first"), code="password_change_required")


def second_factor_enrolment_required() -> Forbidden:
    return Forbidden(
        Text("请先设置两步验证", "Set up two-step verification first"), code="second_factor_enrolment_required"
    )


def require_login_completed(principal: Principal) -> None:
    """Refuses the restricted tokens of a login not yet through its mandatory steps."""
    if principal.must_change_password:
        raise password_change_required()
    if principal.second_factor_enrolment_required:
        raise second_factor_enrolment_required()


async def _logged_in(principal: CurrentPrincipal) -> Principal:
    require_login_completed(principal)
    return principal


# Any account through its login's mandatory steps, for routes that need no permission of their own
# (one's own messages; an export, whose permissions depend on the list it exports).
LoggedIn = Annotated[Principal, Depends(_logged_in)]


def require_permission(principal: Principal, permission: str) -> None:
    require_login_completed(principal)
    if not principal.can(permission):
        raise Forbidden(
            Text(f"没有权限：{permission}", f"Missing permission: {permission}"),
            code="permission_denied",
            extensions={"permission": permission},  # the console names it in words (its catalog's labels)
        )


def requires(permission: str, resource_label: Text | None = None) -> dict[str, Any]:
    """Route keyword arguments that enforce `permission` and publish it in OpenAPI (with the
    resource's name, for the role editor's permission tree)."""
    extra: dict[str, Any] = {PERMISSION_KEY: permission}
    if resource_label is not None:
        extra[RESOURCE_LABEL_KEY] = {"zh": resource_label.zh, "en": resource_label.en}
    return {"dependencies": [Depends(_PermissionCheck(permission))], "openapi_extra": extra}
