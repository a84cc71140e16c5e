"""Signing keys and access tokens for tests that run a service without the gateway."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt


@dataclass
class SigningKey:
    kid: str
    private_pem: str

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(kid or uuid.uuid4().hex[:12], pem)

    @cached_property
    def public_jwk(self) -> dict:
        public = jwk.construct(self.private_pem, "RS256").public_key().to_dict()
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    @property
    def jwks_json(self) -> str:
        return json.dumps({"keys": [self.public_jwk]})

    def token(
        self,
        permissions: list[str] | tuple[str, ...] = ("*",),
        *,
        user_id: int = 1,
        username: str = "tester",
        expires_in: int = 600,
        issuer: str = "hamp-gateway",
        audience: str = "hamp",
        **extra: object,
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "username": username,
            "name": username,
            "perms": list(permissions),
            "typ": "access",
            "sid": uuid.uuid4().hex,
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
            **extra,
        }
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid})
