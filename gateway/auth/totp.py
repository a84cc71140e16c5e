"""The second factor's mechanics: TOTP codes (RFC 6238), recovery codes, the login challenge,
and who must use it. The flows built on them are in second_factor.py."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time
import uuid
from collections.abc import Iterable

import pyotp
import segno
from jose import jwt
from jose.exceptions import JWTError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.keys import SigningKey
from gateway.settings import GatewaySettings
from gateway.system.models import RecoveryCode, TotpCredential, User
from shared.auth import ALGORITHM
from shared.errors import Unauthorized
from shared.i18n import Text

STEP_SECONDS = 30
# Codes of the previous and next step are accepted too: phones' clocks drift.
DRIFT_STEPS = 1
CHALLENGE_SECONDS = 300
CHALLENGE_TYPE = "second-factor"
RECOVERY_CODES = 10

_TOTP_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """A standalone SVG document (with its namespace, so that it also shows as an <img>)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, scale=5, border=2)
    return out.getvalue().decode()


def is_totp_code(code: str) -> bool:
    return bool(_TOTP_CODE.match(code))


def accepted_step(secret: str, code: str, last_step: int, now: float) -> int | None:
    """The time step `code` belongs to (now ± drift), if it is newer than the last one accepted."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def was_used(secret: str, code: str, last_step: int, now: float) -> bool:
    """Whether `code` is right but already spent (told apart only for the login log)."""
    if not is_totp_code(code):
        return False
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    return any(
        step <= last_step and hmac.compare_digest(totp.generate_otp(step), code)
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
    )


def new_recovery_codes() -> list[str]:
    # 64 random bits each: too many to guess, so a plain SHA-256 (as for refresh tokens) is enough.
    return ["-".join(secrets.token_hex(2) for _ in range(4)) for _ in range(RECOVERY_CODES)]


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(re.sub(r"[\s-]", "", code).lower().encode()).hexdigest()


def required(permissions: Iterable[str], settings: GatewaySettings) -> bool:
    """Whether someone holding these permissions must log in with a second factor."""
    prefixes = settings.totp_required_permissions
    return bool(prefixes) and any(p == "*" or p.startswith(tuple(prefixes)) for p in permissions)


async def credential(session: AsyncSession, user_id: int, *, for_update: bool = False) -> TotpCredential | None:
    query = select(TotpCredential).where(TotpCredential.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def enabled(session: AsyncSession, user_id: int) -> bool:
    found = await credential(session, user_id)
    return found is not None and found.enabled_at is not None


async def forget(session: AsyncSession, user_id: int) -> None:
    """Drops the user's authenticator and recovery codes (turned off, reset, or a lost phone)."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    await session.execute(delete(TotpCredential).where(TotpCredential.user_id == user_id))


def _password_mark(user: User) -> str:
    # A changed password makes the challenges issued before it worthless.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def issue_challenge(key: SigningKey, settings: GatewaySettings, user: User) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "typ": CHALLENGE_TYPE,
        "pwm": _password_mark(user),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + CHALLENGE_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.signer, algorithm=ALGORITHM, headers={"kid": key.kid})


def challenge_invalid() -> Unauthorized:
    return Unauthorized(
        Text("验证已超时或无效，请重新登录", "The login step expired or is invalid; log in again"),
        code="challenge_invalid",
    )


def read_challenge(key: SigningKey, settings: GatewaySettings, challenge: str) -> dict:
    """The challenge's claims (user id in `sub`, `jti`), or 401: signed by us, for this step, unexpired."""
    try:
        claims = jwt.decode(
            challenge,
            key.public_jwk,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require_exp": True, "require_sub": True},
        )
    except JWTError as exc:
        raise challenge_invalid() from exc
    if claims.get("typ") != CHALLENGE_TYPE:
        raise challenge_invalid()
    return claims


def challenge_matches(claims: dict, user: User) -> bool:
    return hmac.compare_digest(str(claims.get("pwm", "")), _password_mark(user))
