"""The security policy in force, for the security administrator to review.

The policy is deployment configuration (Helm values / environment), changed through the
hospital's change control and the same for every gateway replica; the console shows what is in
force so it can be checked against the hospital's rules without reading the deployment.
"""

from __future__ import annotations

from pydantic import BaseModel

from gateway.settings import GatewaySettings


class SecurityPolicy(BaseModel):
    password_min_length: int
    password_max_age_days: int
    password_history: int
    lockout_failures: int
    lockout_window_minutes: int
    lockout_minutes: int
    session_idle_minutes: int
    session_absolute_hours: int
    access_token_minutes: int
    second_factor_required_for: list[str]
    trusted_networks: list[str]
    trusted_proxies: list[str]
    login_rate_per_ip_per_minute: int
    login_rate_per_user_per_minute: int
    api_rate_per_second: float
    audit_retention_days: int


def security_policy(settings: GatewaySettings) -> SecurityPolicy:
    return SecurityPolicy(
        password_min_length=settings.password_min_length,
        password_max_age_days=settings.password_max_age_days,
        password_history=settings.password_history,
        lockout_failures=settings.lockout_failures,
        lockout_window_minutes=settings.lockout_window_minutes,
        lockout_minutes=settings.lockout_minutes,
        session_idle_minutes=settings.session_idle_minutes,
        session_absolute_hours=settings.refresh_token_hours,
        access_token_minutes=settings.access_token_minutes,
        second_factor_required_for=settings.totp_required_permissions,
        trusted_networks=settings.trusted_networks,
        trusted_proxies=settings.trusted_proxies,
        login_rate_per_ip_per_minute=settings.login_rate_per_ip_per_minute,
        login_rate_per_user_per_minute=settings.login_rate_per_user_per_minute,
        api_rate_per_second=settings.api_rate_per_second,
        audit_retention_days=settings.audit_retention_days,
    )
