"""Existing plaintext patients are encrypted by the migration (and decrypted by its downgrade), and
`hamp rotate-field-key` moves every value to the current key, on SQLite and MariaDB."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, select, text

import oms.main
from oms.db import metadata
from oms.patients.models import Patient
from oms.settings import OmsSettings
from shared import cli, fieldcrypt
from shared.db import Database
from shared.migrations import alembic_config, sync_url, upgrade
from tests.conftest import DatabaseUnderTest

PLAIN = [
    (1, "王小明", "1990-03-07", "44030419900307123X", "13812345678"),
    (2, "李梅", "1985-08-15", "31011519850815422X", "021-62345678"),
    (3, "张三", "2017-01-01", None, None),
]


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


@pytest.fixture
def engine(database: DatabaseUnderTest) -> Iterator[Engine]:
    engine = create_engine(sync_url(database.url))
    yield engine
    metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version_oms")
    engine.dispose()


def _settings(database: DatabaseUnderTest, var_dir: Path, **keys: object) -> OmsSettings:
    return OmsSettings(database_url=database.url, var_dir=var_dir, log_to_file=False, **keys)


def _raw(engine: Engine) -> dict[int, tuple]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, id_card, phone FROM patients ORDER BY id"))
        return {r.id: (r.id_card, r.phone) for r in rows}


def _read(settings: OmsSettings, **search: str) -> dict[int, tuple]:
    """The patients as the service reads them, with its keys; `search`: kind=number through the index."""

    async def read() -> dict[int, tuple]:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                query = select(Patient)
                for kind, number in search.items():
                    indexes = fieldcrypt.keyring_of(session).lookup(kind, number)
                    query = query.where(getattr(Patient, f"{kind}_index").in_(indexes))
                return {p.id: (p.id_card, p.phone) for p in (await session.execute(query)).scalars()}
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_migration_encrypts_existing_rows_and_the_downgrade_decrypts_them(
    database: DatabaseUnderTest, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(database, tmp_path)
    upgrade(settings, oms.main.MIGRATIONS, "0001")
    with engine.begin() as connection:
        for id_, name, born, id_card, phone in PLAIN:
            connection.execute(
                text(
                    "INSERT INTO patients (id, enabled, created_at, updated_at, name, sex, birth_date, id_card, phone)"
                    " VALUES (:id, 1, '2026-01-01', '2026-01-01', :name, 'male', :born, :id_card, :phone)"
                ),
                {"id": id_, "name": name, "born": born, "id_card": id_card, "phone": phone},
            )
    upgrade(settings, oms.main.MIGRATIONS)

    raw = _raw(engine)
    for id_card, phone in (raw[1], raw[2]):
        assert id_card.startswith("e1:") and phone.startswith("e1:")
    assert raw[3] == (None, None)
    expected = {id_: (id_card, phone) for id_, _, _, id_card, phone in PLAIN}
    assert _read(settings) == expected
    assert list(_read(settings, id_card="44030419900307123x")) == [1]
    assert list(_read(settings, phone="02162345678")) == [2]

    command.downgrade(alembic_config(settings, oms.main.MIGRATIONS), "0001")
    assert _raw(engine) == expected


def test_rotation_moves_every_value_to_the_current_key(
    database: DatabaseUnderTest, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = {"field_encryption_keys": {"a": _key(1)}, "field_index_key": _key(9)}
    upgrade(_settings(database, tmp_path, **a), oms.main.MIGRATIONS)
    with engine.begin() as connection:
        for id_, name, born, _, _ in PLAIN:
            connection.execute(
                text(
                    "INSERT INTO patients (id, enabled, created_at, updated_at, name, sex, birth_date)"
                    " VALUES (:id, 1, '2026-01-01', '2026-01-01', :name, 'male', :born)"
                ),
                {"id": id_, "name": name, "born": born},
            )

    async def write(settings: OmsSettings) -> None:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                for id_, _, _, id_card, phone in PLAIN:
                    patient = await session.get(Patient, id_)
                    patient.id_card, patient.phone = id_card, phone
        finally:
            await db.dispose()

    asyncio.run(write(_settings(database, tmp_path, **a)))
    expected = {id_: (id_card, phone) for id_, _, _, id_card, phone in PLAIN}
    assert {fieldcrypt.key_id_of(v) for pair in _raw(engine).values() for v in pair if v} == {"a"}

    # IT adds key b and makes it current: old rows still open, new writes use b.
    ab = {**a, "field_encryption_keys": {"a": _key(1), "b": _key(2)}, "field_encryption_current_key": "b"}
    assert _read(_settings(database, tmp_path, **ab)) == expected

    # A new index key too, the old one kept as previous while the rotation runs.
    moving = {**ab, "field_index_key": _key(8), "field_index_previous_key": _key(9)}
    assert list(_read(_settings(database, tmp_path, **moving), phone="13812345678")) == [1]

    with monkeypatch.context() as env:  # hamp reads its settings from the environment
        for name, value in (
            ("DATABASE_URL", database.url),
            ("VAR_DIR", str(tmp_path)),
            ("FIELD_ENCRYPTION_KEYS", f'{{"a": "{_key(1)}", "b": "{_key(2)}"}}'),
            ("FIELD_ENCRYPTION_CURRENT_KEY", "b"),
            ("FIELD_INDEX_KEY", _key(8)),
            ("FIELD_INDEX_PREVIOUS_KEY", _key(9)),
        ):
            env.setenv(f"HAMP_OMS_{name}", value)
        cli.main(["rotate-field-key", "oms"])

    assert {fieldcrypt.key_id_of(v) for pair in _raw(engine).values() for v in pair if v} == {"b"}
    # Key a and the old index key are gone: everything still reads and is still found.
    b = {"field_encryption_keys": {"b": _key(2)}, "field_index_key": _key(8)}
    assert _read(_settings(database, tmp_path, **b)) == expected
    assert list(_read(_settings(database, tmp_path, **b), id_card="44030419900307123X")) == [1]
    assert list(_read(_settings(database, tmp_path, **b), phone="021-62345678")) == [2]
    # Nothing is left under key a: with it alone, the values no longer open.
    with pytest.raises(fieldcrypt.FieldKeyError):
        _read(_settings(database, tmp_path, **a))
