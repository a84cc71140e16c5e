"""The object stores behave alike: the same tests against the directory store and a real MinIO."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from shared.storage import (
    LocalObjectStore,
    MinioObjectStore,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    bucket_name,
    object_store,
)
from tests.support.minio import client, minio_url  # noqa: F401 — the fixture
from tests.support.servers import free_port

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(params=["local", "minio"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path, "oms")
    else:
        # A bucket of its own per test, so each test also sees the bucket created on first use.
        yield MinioObjectStore(request.getfixturevalue("minio_url"), f"t{uuid.uuid4().hex[:12]}")


def test_put_then_get_gives_the_bytes_size_sha256_and_type(store: ObjectStore) -> None:
    async def run() -> tuple:
        stored = await store.put("exams/2026/11/a.pdf", PDF, "application/pdf")
        return stored, await store.get("exams/2026/11/a.pdf"), await store.content_type("exams/2026/11/a.pdf")

    stored, read, content_type = asyncio.run(run())
    assert read == PDF
    assert stored.key == "exams/2026/11/a.pdf" and stored.size == len(PDF)
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.content_type == content_type == "application/pdf"


def test_an_empty_object_round_trips(store: ObjectStore) -> None:
    async def run() -> bytes:
        await store.put("empty.txt", b"", "text/plain")
        return await store.get("empty.txt")

    assert asyncio.run(run()) == b""


def test_a_missing_key_is_object_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        asyncio.run(store.get("no/such.pdf"))
    assert asyncio.run(store.exists("no/such.pdf")) is False


def test_delete_then_exists_is_false_and_deleting_twice_is_fine(store: ObjectStore) -> None:
    async def run() -> tuple[bool, bool]:
        await store.put("a.txt", b"1", "text/plain")
        before = await store.exists("a.txt")
        await store.delete("a.txt")
        await store.delete("a.txt")
        await store.delete("never/there.txt")
        return before, await store.exists("a.txt")

    assert asyncio.run(run()) == (True, False)


def test_put_replaces_an_object(store: ObjectStore) -> None:
    async def run() -> tuple[bytes, str]:
        await store.put("r.bin", b"old", "text/plain")
        await store.put("r.bin", b"new!", "image/png")
        return await store.get("r.bin"), await store.content_type("r.bin")

    assert asyncio.run(run()) == (b"new!", "image/png")


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a/./b", "名字.pdf"])
def test_keys_that_escape_or_are_odd_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(StorageError):
        asyncio.run(store.put(key, b"x", "text/plain"))
    for call in (store.get, store.delete, store.exists):
        with pytest.raises(StorageError):
            asyncio.run(call(key))


def test_the_bucket_is_created_on_first_use(minio_url: str) -> None:  # noqa: F811
    bucket = f"first-use-{uuid.uuid4().hex[:8]}"
    assert not client(minio_url).bucket_exists(bucket)
    store = MinioObjectStore(minio_url, bucket)
    asyncio.run(store.put("a.txt", b"1", "text/plain"))
    assert client(minio_url).bucket_exists(bucket)
    names = [o.object_name for o in client(minio_url).list_objects(bucket, recursive=True)]
    assert names == ["a.txt"]
    # The SHA-256 also travels as the object's metadata.
    assert client(minio_url).stat_object(bucket, "a.txt").metadata["x-amz-meta-sha256"] == (
        hashlib.sha256(b"1").hexdigest()
    )


def test_instances_racing_to_create_the_bucket_all_succeed(minio_url: str) -> None:  # noqa: F811
    bucket = f"race-{uuid.uuid4().hex[:8]}"
    stores = [MinioObjectStore(minio_url, bucket) for _ in range(6)]

    async def run() -> None:
        await asyncio.gather(*(s.put(f"k{i}.txt", b"x", "text/plain") for i, s in enumerate(stores)))

    asyncio.run(run())
    assert len(list(client(minio_url).list_objects(bucket))) == 6


def test_a_url_path_prefixes_the_bucket(minio_url: str) -> None:  # noqa: F811
    prefix = f"hamp{uuid.uuid4().hex[:6]}"
    store = MinioObjectStore(f"{minio_url}/{prefix}", "oms")
    assert store.bucket == f"{prefix}-oms"
    asyncio.run(store.put("a.txt", b"1", "text/plain"))
    assert client(minio_url).bucket_exists(f"{prefix}-oms")


def test_wrong_credentials_are_a_clear_error_at_once(minio_url: str) -> None:  # noqa: F811
    parts = urlsplit(minio_url)
    wrong = parts._replace(netloc=f"{parts.username}:not-the-secret@{parts.hostname}:{parts.port}").geturl()
    started = time.monotonic()
    with pytest.raises(StorageError, match="refused the credentials") as caught:
        asyncio.run(MinioObjectStore(wrong, "oms").put("a.txt", b"1", "text/plain"))
    assert time.monotonic() - started < 10
    assert "not-the-secret" not in str(caught.value)


def test_an_unreachable_minio_is_an_error_in_seconds() -> None:
    store = MinioObjectStore(f"http://key:secret@127.0.0.1:{free_port()}", "oms", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(StorageError, match="not reachable"):
        asyncio.run(store.get("a.txt"))
    assert time.monotonic() - started < 10


def test_a_presigned_url_downloads_within_its_life(minio_url: str) -> None:  # noqa: F811
    store = MinioObjectStore(minio_url, f"presign-{uuid.uuid4().hex[:8]}")

    async def run() -> str:
        await store.put("exams/r.pdf", PDF, "application/pdf")
        return await store.presigned_get("exams/r.pdf", 60)

    url = asyncio.run(run())
    answer = httpx2.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    # Without its signature the same object is refused.
    assert httpx2.get(url.split("?")[0], timeout=10).status_code == 403
    with pytest.raises(StorageError):
        asyncio.run(store.presigned_get("exams/r.pdf", 8 * 24 * 3600))


def test_presigned_urls_expire(minio_url: str) -> None:  # noqa: F811
    store = MinioObjectStore(minio_url, f"expire-{uuid.uuid4().hex[:8]}")

    async def run() -> str:
        await store.put("r.txt", b"x", "text/plain")
        return await store.presigned_get("r.txt", 1)

    url = asyncio.run(run())
    time.sleep(2.5)
    assert httpx2.get(url, timeout=10).status_code == 403


def test_object_store_picks_the_store_by_url(tmp_path: Path) -> None:
    assert isinstance(object_store("", tmp_path, "oms"), LocalObjectStore)
    minio = object_store("https://key:se%2Fcret@minio.example:9000", tmp_path, "oms")
    assert isinstance(minio, MinioObjectStore) and minio.bucket == "oms" and minio.endpoint == "minio.example:9000"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://key:topsecret@minio:9000", "unsupported storage_url"),
        ("ftp://key:topsecret@minio", "unsupported storage_url"),
        ("http://minio:9000", "access-key:secret@host:port"),
        ("http://key:topsecret@minio:99999", "bad port"),
        ("http://key:topsecret@minio:9000?region=x", "no query"),
    ],
)
def test_bad_urls_are_refused_without_showing_the_secret(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(StorageError, match=says) as caught:
        object_store(url, tmp_path, "oms")
    assert "topsecret" not in str(caught.value)


def test_bucket_names_are_valid_s3_names() -> None:
    assert bucket_name("oms") == "oms" and bucket_name("Hamp_OMS") == "hamp-oms"
    for bad in ("x", "a" * 64, "-oms", "o..ms", "10.0.0.1", "oms/x"):
        with pytest.raises(StorageError):
            bucket_name(bad)
