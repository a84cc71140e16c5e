"""Signing keys and access tokens for tests that run a service without the gateway.

The key is the gateway's own (gateway/auth/keys.py: its kid, its JWKS) and tokens come from the
gateway's own makers (gateway/auth/tokens.py), so a service under test sees exactly the claims the
gateway issues, and a change there reaches every test.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import keys
from gateway.auth.tokens import issue_access_token, issue_service_token
from shared.settings import ServiceSettings

ISSUER = ServiceSettings.model_fields["jwt_issuer"].default
AUDIENCE = ServiceSettings.model_fields["jwt_audience"].default


@dataclass(frozen=True)
class SigningKey(keys.SigningKey):
    """The gateway's signing key. `claimed_kid` makes it pose as another key (a forgery test);
    otherwise its kid is the gateway's thumbprint of it."""

    claimed_kid: str | None = None

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(pem, kid)

    @cached_property
    def kid(self) -> str:
        return self.claimed_kid or keys.SigningKey(self.private_pem).kid

    @property
    def jwks_json(self) -> str:
        return json.dumps(self.jwks())

    def token(
        self,
        permissions: list[str] | tuple[str, ...] = ("*",),
        *,
        user_id: int = 1,
        username: str = "tester",
        expires_in: int = 600,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        **extra: object,
    ) -> str:
        """A user's access token; `name` and `sid` may be given, other keywords become extra claims."""
        return issue_access_token(
            self,
            user_id=user_id,
            username=username,
            name=str(extra.pop("name", username)),
            permissions=list(permissions),
            session_id=str(extra.pop("sid", uuid.uuid4().hex)),
            issuer=issuer,
            audience=audience,
            lifetime_seconds=expires_in,
            extra=extra,
        )

    def service_token(self, service: str, permissions: list[str] | tuple[str, ...], expires_in: int = 600) -> str:
        """What the gateway hands `service` at /api/auth/service-token."""
        return issue_service_token(
            self,
            service_name=service,
            permissions=list(permissions),
            issuer=ISSUER,
            audience=AUDIENCE,
            lifetime_seconds=expires_in,
        )
