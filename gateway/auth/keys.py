"""The gateway's RS256 signing key and the JWKS that services verify with."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk

from gateway.settings import GatewaySettings

log = logging.getLogger("hamp.gateway.keys")


@dataclass(frozen=True)
class SigningKey:
    private_pem: str

    @cached_property
    def signer(self) -> Any:
        """The parsed private key: parsing the PEM costs ~50 ms, so once, not per token."""
        return jwk.construct(self.private_pem, "RS256")

    @cached_property
    def public_jwk(self) -> dict:
        public = jwk.construct(self.private_pem, "RS256").public_key().to_dict()
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    @cached_property
    def kid(self) -> str:
        # RFC 7638 thumbprint: the same key always gets the same kid, on every replica.
        public = jwk.construct(self.private_pem, "RS256").public_key().to_dict()
        canonical = '{"e":"%s","kty":"RSA","n":"%s"}' % (public["e"], public["n"])  # noqa: UP031
        digest = hashlib.sha256(canonical.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:16]

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk]}


def _generate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_signing_key(settings: GatewaySettings) -> SigningKey:
    if settings.signing_key_pem:
        return SigningKey(settings.signing_key_pem)
    path = settings.effective_signing_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_generate_pem())
        log.info("generated a signing key at %s", path)
    return SigningKey(path.read_text())
