"""Two-step login for administrators: enrolling an authenticator (TOTP), the login's second
step, recovery codes, and turning it off (oneself, or a security administrator for someone
who lost the phone)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import totp
from gateway.auth.passwords import verify_password
from gateway.auth.schemas import SecondFactorEnabled, SecondFactorEnrolment, SecondFactorStatus, TokenOut
from gateway.auth.service import (
    AuthContext,
    Client,
    _locked,
    _log,
    grants_of,
    open_session,
    record_failure,
    renew_tokens,
)
from gateway.db import audit_log
from gateway.system.models import RecoveryCode, Session, TotpCredential, User, UserStatus
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, Unauthorized, field_error
from shared.i18n import Text

WRONG_CODE = Text("验证码不正确", "Wrong verification code")


def _wrong_code(field: str = "code") -> Invalid:
    return Invalid(WRONG_CODE, code="wrong_code", errors=[field_error(field, Text("不正确", "is wrong"), "wrong_code")])


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise Unauthorized(Text("账号不可用", "Account not usable"), code="account_disabled")
    return user


async def _required(session: AsyncSession, user: User, ctx: AuthContext) -> bool:
    return totp.required((await grants_of(session, user)).permissions, ctx.settings)


async def status(session: AsyncSession, user_id: int, ctx: AuthContext) -> SecondFactorStatus:
    user = await _user(session, user_id)
    found = await totp.credential(session, user_id)
    left = (
        await session.execute(
            select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
    ).scalar_one()
    return SecondFactorStatus(
        enabled=found is not None and found.enabled_at is not None,
        required=await _required(session, user, ctx),
        enabled_at=found.enabled_at if found else None,
        recovery_codes_left=left if found and found.enabled_at else 0,
    )


def _already_enabled() -> Conflict:
    return Conflict(
        Text("两步验证已启用，如需更换请先停用", "Two-step verification is on; turn it off first to replace it"),
        code="second_factor_enabled",
    )


async def start_enrolment(session: AsyncSession, user_id: int, ctx: AuthContext) -> SecondFactorEnrolment:
    """A new secret, pending until a code from it is confirmed; starting again replaces it."""
    user = await _user(session, user_id)
    found = await totp.credential(session, user_id, for_update=True)
    if found is not None and found.enabled_at is not None:
        raise _already_enabled()
    secret = totp.new_secret()
    if found is None:
        session.add(TotpCredential(user_id=user_id, secret=secret, created_at=utcnow()))
    else:
        found.secret, found.last_step, found.created_at = secret, 0, utcnow()
    await session.flush()
    uri = totp.provisioning_uri(secret, user.username, ctx.settings.totp_issuer)
    return SecondFactorEnrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


async def _new_recovery_codes(session: AsyncSession, user_id: int) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = totp.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user_id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    return codes


async def confirm_enrolment(
    session: AsyncSession, user_id: int, session_id: str, code: str, ctx: AuthContext
) -> SecondFactorEnabled:
    """A current code proves the authenticator holds the secret: the second factor is on, and the
    session gets full tokens (a required enrolment was all that was missing)."""
    user = await _user(session, user_id)
    record = await session.get(Session, session_id)
    if record is None or record.revoked_at is not None:
        raise Unauthorized(Text("登录已失效，请重新登录", "Session ended; log in again"), code="token_revoked")
    found = await totp.credential(session, user_id, for_update=True)
    if found is not None and found.enabled_at is not None:
        raise _already_enabled()
    if found is None:
        raise Conflict(Text("请先开始设置", "Start the set-up first"), code="enrolment_not_started")
    step = totp.accepted_step(found.secret, code, found.last_step, ctx.clock())
    if step is None:
        raise _wrong_code()
    found.enabled_at, found.last_step = utcnow(), step
    codes = await _new_recovery_codes(session, user_id)
    await audit.record(
        session, audit_log, action="second_factor_enable", entity="user", entity_id=user_id, after={"enabled": True}
    )
    tokens = await renew_tokens(session, user, record, ctx)
    return SecondFactorEnabled(recovery_codes=codes, tokens=tokens)


async def disable(session: AsyncSession, user_id: int, password: str, code: str, ctx: AuthContext) -> None:
    """Turning it off needs the password and a current code (a left-open console is not enough),
    and is refused while the user's permissions require it."""
    user = await _user(session, user_id)
    if await _required(session, user, ctx):
        raise Conflict(
            Text("您的权限要求启用两步验证，不能停用", "Your permissions require two-step verification"),
            code="second_factor_required",
        )
    found = await totp.credential(session, user_id, for_update=True)
    if found is None or found.enabled_at is None:
        return
    if not await verify_password(password, user.password_hash):
        raise Invalid(
            Text("密码不正确", "The password is wrong"),
            code="wrong_password",
            errors=[field_error("password", Text("不正确", "is wrong"), "wrong_password")],
        )
    if totp.accepted_step(found.secret, code, found.last_step, ctx.clock()) is None:
        raise _wrong_code()
    await totp.forget(session, user_id)
    await audit.record(
        session, audit_log, action="second_factor_disable", entity="user", entity_id=user_id, after={"enabled": False}
    )


async def _check_code(session: AsyncSession, user: User, found: TotpCredential, code: str, ctx: AuthContext) -> str:
    """'' for a right TOTP code, 'recovery_code' for an unused recovery code (now spent), or the
    login log's reason for a refusal."""
    assert user.id is not None
    now = ctx.clock()
    if totp.is_totp_code(code):
        step = totp.accepted_step(found.secret, code, found.last_step, now)
        if step is None:
            return "totp_reused" if totp.was_used(found.secret, code, found.last_step, now) else "totp_failed"
        found.last_step = step
        return ""
    spare = (
        await session.execute(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == totp.hash_recovery_code(code))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if spare is None:
        return "recovery_code_failed"
    if spare.used_at is not None:
        return "recovery_code_reused"
    spare.used_at = utcnow()
    return "recovery_code"


async def login(session: AsyncSession, challenge: str, code: str, client: Client, ctx: AuthContext) -> TokenOut:
    """The login's second step. Like the first, refusals are logged and committed (see router)."""
    claims = totp.read_challenge(ctx.key, ctx.settings, challenge)
    user = await session.get(User, int(claims["sub"]))
    if user is None or not totp.challenge_matches(claims, user):
        raise totp.challenge_invalid()
    if _locked(user):
        _log(session, user.username, user, client, False, "locked")
        raise Unauthorized(
            Text("账号已锁定，请联系管理员解锁", "Account locked; ask an administrator"), code="account_locked"
        )
    if user.status != UserStatus.ACTIVE:
        _log(session, user.username, user, client, False, "disabled")
        raise Unauthorized(Text("账号已停用", "This account is disabled"), code="account_disabled")
    found = await totp.credential(session, user.id, for_update=True)
    if found is None or found.enabled_at is None:
        # Reset by an administrator meanwhile: the password alone decides again, so start over.
        raise totp.challenge_invalid()
    outcome = await _check_code(session, user, found, code, ctx)
    if outcome not in ("", "recovery_code"):
        _log(session, user.username, user, client, False, outcome)
        await record_failure(session, user, ctx)
        raise Unauthorized(WRONG_CODE, code="second_factor_failed")
    # One challenge, one session: a copied challenge cannot open a second one with a later code.
    if await ctx.store.incr(f"second-factor-challenge:{claims['jti']}", totp.CHALLENGE_SECONDS + 60) > 1:
        raise totp.challenge_invalid()
    return await open_session(session, user, user.username, client, ctx, reason=outcome)
