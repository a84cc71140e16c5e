"""Access tokens (RS256 JWT, short-lived) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

from jose import jwt

from gateway.auth.keys import SigningKey


def issue_access_token(
    key: SigningKey,
    *,
    user_id: int,
    username: str,
    name: str,
    permissions: list[str],
    session_id: str,
    issuer: str,
    audience: str,
    lifetime_seconds: int,
    extra: dict[str, object] | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "username": username,
        "name": name,
        "perms": permissions,
        "sid": session_id,
        "typ": "access",
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime_seconds,
        "jti": uuid.uuid4().hex,
        **(extra or {}),
    }
    return jwt.encode(claims, key.signer, algorithm="RS256", headers={"kid": key.kid})


# Service tokens carry user id 0: no user has it, so no user's revocation or lockout touches them.
SERVICE_USER_ID = 0


def issue_service_token(
    key: SigningKey, *, service_name: str, permissions: list[str], issuer: str, audience: str, lifetime_seconds: int
) -> str:
    """A service's own token: no session, and the `svc` claim that marks it as never revoked."""
    return issue_access_token(
        key,
        user_id=SERVICE_USER_ID,
        username=f"service:{service_name}",
        name=service_name,
        permissions=permissions,
        session_id="",
        issuer=issuer,
        audience=audience,
        lifetime_seconds=lifetime_seconds,
        extra={"svc": service_name},
    )


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
