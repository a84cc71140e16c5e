"""Object storage: one interface, a directory store for the embedded profile, MinIO for production.

Keys are bucket-relative paths like ``reports/2026/11/abc.pdf``. A put computes the SHA-256
and size while writing and only then makes the object visible (local: write to a temporary
file, fsync, rename; MinIO: an S3 upload is visible only once complete), so a failed upload never leaves
a partial object behind.

The setting ``storage_url`` picks the store: empty → ``var/objects``; ``http(s)://key:secret@host:port``
→ MinIO, one bucket per service. An optional path is a bucket-name prefix shared by all services
(``…:9000/hamp`` → bucket ``hamp-oms``), for a MinIO that other systems use too.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import urllib3

# `minio` (a third of a second and 10 MB per process) is imported by MinioObjectStore alone: a
# service on the directory store, as under `hamp up`, never needs it.

_KEY = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._\-/]{1,512}$")
# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end.
_BUCKET = re.compile(r"^(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
T = TypeVar("T")


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
    async def content_type(self, key: str) -> str: ...


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


class MinioObjectStore:
    """Objects in one MinIO bucket. The `minio` client blocks, so every call runs in a worker
    thread (asyncio.to_thread) and never stalls the event loop of a service.

    `presigned_get` exists only here: a directory store cannot hand out a URL that works without us.
    """

    def __init__(
        self, url: str, bucket: str, *, connect_timeout: float = 5.0, read_timeout: float = 60.0, retries: int = 2
    ) -> None:
        parts = urlsplit(url)
        shown = _redact(url)
        if parts.scheme not in ("http", "https"):
            raise StorageError(f"storage_url {shown}: MinIO wants http:// or https://")
        try:
            parts.port  # noqa: B018 — only to have a bad port refused here, not at the first upload
        except ValueError as exc:
            raise StorageError(f"storage_url {shown}: bad port") from exc
        if not parts.hostname or not parts.username or not parts.password:
            raise StorageError(f"storage_url {shown}: needs http(s)://access-key:secret@host:port")
        if parts.query or parts.fragment:
            raise StorageError(f"storage_url {shown}: takes no query or fragment")
        prefix = parts.path.strip("/")
        self.bucket = bucket_name(f"{prefix}-{bucket}" if prefix else bucket)
        self.endpoint = parts.netloc.rpartition("@")[2]
        # The client's own default waits up to 5 minutes and retries 5 times: an unreachable or
        # refusing MinIO must turn into an error in seconds, not hang an upload request.
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            # Connection failures and 5xx are retried; a read timeout is not (it would only multiply the wait).
            retries=urllib3.Retry(total=retries, read=0, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
            maxsize=10,
        )
        self.client = Minio(
            self.endpoint,
            access_key=unquote(parts.username),
            secret_key=unquote(parts.password),
            secure=parts.scheme == "https",
            http_client=http,
        )
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    def _ensure_bucket(self) -> None:
        from minio.error import S3Error

        # Lazily, so a service starts even while MinIO is still coming up; once per process.
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    # Another instance of the service created it between our two calls: fine.
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
            self._bucket_ready = True

    async def _run(self, key: str, work: Callable[[], T]) -> T:
        check_key(key)

        def call() -> T:
            from minio.error import MinioException, S3Error

            try:
                self._ensure_bucket()
                return work()
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject"):
                    raise ObjectNotFound(key) from exc
                if exc.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
                    raise StorageError(
                        f"MinIO at {self.endpoint} refused the credentials of storage_url "
                        f"(or they grant nothing on bucket {self.bucket}): {exc.code}"
                    ) from exc
                raise StorageError(
                    f"MinIO at {self.endpoint}, bucket {self.bucket}: {exc.code}: {exc.message}"
                ) from exc
            except (MinioException, urllib3.exceptions.HTTPError) as exc:
                raise StorageError(f"MinIO at {self.endpoint} not reachable or not answering: {exc}") from exc

        return await asyncio.to_thread(call)

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()

        def work() -> StoredObject:
            # Up to 5 MiB this is one PUT, all or nothing; above, a multipart upload shows the object only
            # when it completes, and the client aborts it when a part fails.
            # The digest also goes along as metadata, so the bucket alone can be audited.
            self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata={"sha256": digest}
            )
            return StoredObject(key, len(data), digest, content_type)

        return await self._run(key, work)

    async def get(self, key: str) -> bytes:
        def work() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await self._run(key, work)

    async def delete(self, key: str) -> None:
        # S3 answers 204 for a key that is not there, so a missing key is no error.
        await self._run(key, lambda: self.client.remove_object(self.bucket, key))

    async def exists(self, key: str) -> bool:
        try:
            await self._run(key, lambda: self.client.stat_object(self.bucket, key))
        except ObjectNotFound:
            return False
        return True

    async def content_type(self, key: str) -> str:
        found = await self._run(key, lambda: self.client.stat_object(self.bucket, key))
        return found.content_type or "application/octet-stream"

    async def presigned_get(self, key: str, seconds: int = 300) -> str:
        """A URL that downloads the object without credentials until it expires (S3 allows at most
        7 days). It names the endpoint of storage_url, so it works only for whoever reaches that."""
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise StorageError(f"presigned URL lifetime must be 1 s to 7 days, not {seconds} s")
        return await self._run(
            key, lambda: self.client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=seconds))
        )


def bucket_name(name: str) -> str:
    """An S3 bucket name from a service's bucket name (``oms``; ``hamp_oms`` → ``hamp-oms``)."""
    candidate = name.lower().replace("_", "-")
    if not _BUCKET.match(candidate):
        raise StorageError(f"{name!r} cannot be an S3 bucket name (3-63 of a-z 0-9 . -)")
    return candidate


def _redact(url: str) -> str:
    """The URL for a message or a log: never the secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    host = parts.netloc.rpartition("@")[2]
    return repr(parts._replace(netloc=f"{parts.username}:***@{host}").geturl())


def object_store(storage_url: str, var_dir: Path, bucket: str) -> ObjectStore:
    """The store a setting names: empty → var/objects, http(s):// → MinIO."""
    if not storage_url:
        return LocalObjectStore(var_dir / "objects", bucket)
    if urlsplit(storage_url).scheme in ("http", "https"):
        return MinioObjectStore(storage_url, bucket)
    raise StorageError(
        f"unsupported storage_url {_redact(storage_url)}: leave it empty for var/objects, "
        "or give MinIO as http(s)://access-key:secret@host:port"
    )
