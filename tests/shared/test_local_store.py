from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from shared.storage import LocalObjectStore, ObjectNotFound, StorageError


def test_local_store_round_trip_with_checksum(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path, "oms")
    data = b"%PDF-1.7 report"

    async def run() -> tuple:
        stored = await store.put("reports/2026/a.pdf", data, "application/pdf")
        return stored, await store.get("reports/2026/a.pdf"), await store.content_type("reports/2026/a.pdf")

    stored, read, content_type = asyncio.run(run())
    assert read == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert content_type == "application/pdf"
    assert not [p for p in (tmp_path / "oms" / "reports" / "2026").iterdir() if p.name.startswith(".upload-")]


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a/./b", "名字.pdf"])
def test_local_store_refuses_keys_that_escape_or_are_odd(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError):
        asyncio.run(LocalObjectStore(tmp_path, "oms").put(key, b"x", "text/plain"))
    assert not any(tmp_path.rglob("x"))


def test_local_store_missing_and_deleted(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path, "oms")

    async def run() -> bool:
        await store.put("a.txt", b"1", "text/plain")
        await store.delete("a.txt")
        return await store.exists("a.txt")

    assert asyncio.run(run()) is False
    with pytest.raises(ObjectNotFound):
        asyncio.run(store.get("a.txt"))
