"""Which permission strings grant which route permission; verified tokens kept until they expire."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared import auth
from shared.auth import KeySet, Principal, TokenVerifier, permission_granted
from shared.errors import Unauthorized
from shared.i18n import Text
from tests.support.tokens import SigningKey


@pytest.mark.parametrize(
    ("granted", "permission"),
    [
        ({"*"}, "dbs:department:write"),
        ({"dbs:department:read"}, "dbs:department:read"),
        ({"dbs:*"}, "dbs:doctor:write"),
        ({"dbs:department:*"}, "dbs:department:write"),
        ({"oms:visit:read", "dbs:unit:read"}, "dbs:unit:read"),
    ],
)
def test_granted(granted: set[str], permission: str) -> None:
    assert permission_granted(granted, permission)


@pytest.mark.parametrize(
    ("granted", "permission"),
    [
        (set(), "dbs:department:read"),
        ({"dbs:department:read"}, "dbs:department:write"),  # read does not imply write
        ({"dbs:department:write"}, "dbs:department:read"),  # nor write read
        ({"dbs:department:read"}, "dbs:doctor:read"),
        ({"dbs:department:*"}, "dbs:doctor:read"),
        ({"oms:*"}, "dbs:unit:read"),
        ({"dbs"}, "dbs:unit:read"),  # a bare prefix is not a wildcard
        ({"dbs:depart*"}, "dbs:department:read"),  # nor is a partial word
        ({"dbs:department:read:*"}, "dbs:department:read"),
    ],
)
def test_not_granted(granted: set[str], permission: str) -> None:
    assert not permission_granted(granted, permission)


# --- verified tokens, kept until they expire ----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature and claims were verified, in order."""
    verified: list[str] = []
    decode = auth.jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        verified.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return verified


def verifier_for(key: SigningKey, clock: Clock, cache_size: int = 16) -> TokenVerifier:
    return TokenVerifier(KeySet(jwks_document=key.jwks_json), "hamp-gateway", "hamp", cache_size, clock)


@pytest.mark.anyio
async def test_a_token_is_verified_once_until_it_expires(key: SigningKey, signature_checks: list[str]) -> None:
    clock = Clock()
    verifier = verifier_for(key, clock)
    token = key.token(["dbs:*"], user_id=7, expires_in=60)
    first = await verifier.verify(token)
    assert (await verifier.verify(token)) == first
    assert first.user_id == 7 and first.permissions == frozenset({"dbs:*"})
    assert len(signature_checks) == 1
    clock.now = first.claims["exp"]  # at its expiry the signature and claims are verified afresh
    await verifier.verify(token)
    assert len(signature_checks) == 2


@pytest.mark.anyio
async def test_a_cached_token_is_still_refused_once_revoked(key: SigningKey, signature_checks: list[str]) -> None:
    verifier = verifier_for(key, Clock())
    revoked: set[str] = set()

    async def revocation(principal: Principal) -> None:
        if principal.session_id in revoked:
            raise Unauthorized(Text("登录已失效", "Session ended"), code="token_revoked")

    verifier.checks.append(revocation)
    token = key.token(["*"])
    principal = await verifier.verify(token)
    revoked.add(principal.session_id)
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.code == "token_revoked"
    assert len(signature_checks) == 1  # refused by the check, from the cache


@pytest.mark.anyio
async def test_the_cache_is_bounded(key: SigningKey, signature_checks: list[str]) -> None:
    verifier = verifier_for(key, Clock(), cache_size=2)
    tokens = [key.token(["*"], user_id=i) for i in (1, 2, 3)]
    for token in tokens:
        await verifier.verify(token)
    assert len(verifier._verified) == 2
    await verifier.verify(tokens[0])  # the oldest made room
    assert signature_checks == [*tokens, tokens[0]]


@pytest.mark.anyio
async def test_new_keys_verify_cached_tokens_again(key: SigningKey, signature_checks: list[str]) -> None:
    verifier = verifier_for(key, Clock())
    token = key.token(["*"])
    await verifier.verify(token)
    verifier.keys.load({"keys": [SigningKey.generate().public_jwk]})  # the gateway's key was replaced
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.code == "token_invalid"


@pytest.mark.anyio
async def test_an_altered_token_is_not_taken_from_the_cache(key: SigningKey) -> None:
    verifier = verifier_for(key, Clock())
    token = key.token(["dbs:department:read"])
    await verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    with pytest.raises(Unauthorized):
        await verifier.verify(forged)
