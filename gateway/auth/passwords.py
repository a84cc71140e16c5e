"""Password hashing (argon2 through passlib), off the event loop: a hash costs ~50 ms of CPU."""

from __future__ import annotations

import asyncio

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _context.hash("hamp-no-such-user")


def hash_password(password: str) -> str:
    return _context.hash(password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(_context.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await asyncio.to_thread(_context.verify, password, password_hash or _DUMMY_HASH) and bool(
        password_hash
    )
