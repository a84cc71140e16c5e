"""Object storage: one interface, a directory store for the embedded profile.

Keys are bucket-relative paths like ``reports/2026/11/abc.pdf``. A put computes the SHA-256
and size while writing and only then makes the object visible (write to a temporary file,
fsync, rename), so a failed upload never leaves a partial object behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._\-/]{1,512}$")


class StorageError(Exception):
    pass


class ObjectNotFound(StorageError):
    pass


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


def check_key(key: str) -> str:
    if not _KEY.match(key) or "//" in key:
        raise StorageError(f"invalid object key: {key!r}")
    return key


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject: ...
    async def get(self, key: str) -> bytes: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...


class LocalObjectStore:
    """Objects as files under `root/<bucket>/`, with the content type beside each."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = (root / check_key(bucket)).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"invalid object key: {key!r}")
        return path

    def _put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp + ".type").write_text(content_type)
            os.replace(tmp + ".type", str(path) + ".type")
            os.replace(tmp, path)
        except BaseException:
            for leftover in (tmp, tmp + ".type"):
                Path(leftover).unlink(missing_ok=True)
            raise
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest(), content_type)

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        return await asyncio.to_thread(self._put, key, data, content_type)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    def _content_type(self, key: str) -> str:
        type_file = Path(str(self._path(key)) + ".type")
        return type_file.read_text() if type_file.exists() else "application/octet-stream"

    def _delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        Path(str(path) + ".type").unlink(missing_ok=True)

    async def content_type(self, key: str) -> str:
        return await asyncio.to_thread(self._content_type, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)


def object_store(storage_url: str, var_dir: Path, bucket: str) -> ObjectStore:
    """The store a setting names: empty → var/objects; MinIO comes with the first service that uploads."""
    if not storage_url:
        return LocalObjectStore(var_dir / "objects", bucket)
    raise StorageError(f"unsupported storage_url {storage_url!r}: only the local store exists so far")
