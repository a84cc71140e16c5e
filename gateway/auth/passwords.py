"""Password hashing (argon2 through passlib), off the event loop: a hash costs ~50 ms of CPU."""

from __future__ import annotations

import asyncio
from functools import cache

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")


@cache
def _dummy_hash() -> str:
    """Verified when the user does not exist, so a wrong name costs as long as a wrong password."""
    return _context.hash("hamp-no-such-user")


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(_context.hash, password)


def _verify(password: str, password_hash: str | None) -> bool:
    matched = _context.verify(password, password_hash or _dummy_hash())
    return matched and bool(password_hash)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await asyncio.to_thread(_verify, password, password_hash)
