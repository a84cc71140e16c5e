"""Personal data encrypted at rest (ID-card numbers, phones), with a keyed blind index for exact search.

A value is encrypted with AES-256-GCM (`cryptography`) under the keyring's current key. The
stored text is ``e1:<key id>:<base64 of nonce + ciphertext + tag>``: the version and key id say
which key opens it, so old keys keep opening old rows until `hamp rotate-field-key` has
re-encrypted them. The associated data is the version, key id and ``<table>.<column>``, so a
value copied into another column (or a patient's phone into a user's) fails to open instead of
being shown.

Encrypted values cannot be compared in SQL, so each searchable column has a companion
``<column>_index``: HMAC-SHA256, under a separate index key, of the normalised value (ID card
upper-cased, phone digits only). It finds an exact full number and holds uniqueness; a partial
or masked number never matches, and without the index key the column tells nothing but which
rows share a number.

The keyring travels with the engine, not with the process: `attach` hangs it (loaded on first
use) on an engine's dialect, which the column type receives with every value; `Database`
attaches it from the service's settings, as do the migrations and the CLI. So two apps in one
process (as in the tests) each keep their own keys, and nothing happens at import time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, event, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from shared.records import table_of
from shared.settings import ServiceSettings

VERSION = "e1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_FILE = "field-keys.json"
INDEX_LENGTH = 64  # hex of SHA-256
_KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_TOKEN = re.compile(r"^e1:([A-Za-z0-9_-]{1,16}):([A-Za-z0-9_=-]+)$")
_KIDS_MAX = 16
# Where values sealed into an audit row claim to belong (the row's JSON has no columns).
AUDIT_PLACE = "audit_log"


class FieldKeyError(RuntimeError):
    """A value cannot be opened: its key is gone, or it was altered or moved."""


def ciphertext_length(max_chars: int) -> int:
    """Column size for an encrypted value of at most `max_chars` characters (4 bytes each in UTF-8)."""
    payload = NONCE_BYTES + 4 * max_chars + TAG_BYTES
    return len(VERSION) + 1 + _KIDS_MAX + 1 + 4 * math.ceil(payload / 3)


def normalise(kind: str, value: str) -> str:
    """The form the blind index hashes: how a clerk may type the same number differently."""
    if kind == "id_card":
        return value.strip().upper()
    if kind == "phone":
        return re.sub(r"\D", "", value)
    raise ValueError(f"unknown index kind {kind!r}")


def _key(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def new_key() -> str:
    """A fresh key, base64, as the settings and the key file hold it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass(frozen=True)
class Keyring:
    """Encryption keys by id (one current, all of them open), and the blind-index keys (the first
    is current; a previous one is still searched while a re-index runs)."""

    keys: Mapping[str, bytes]
    current: str
    index_keys: tuple[bytes, ...]
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kid, key in self.keys.items():
            if not _KID.match(kid):
                raise ValueError(f"field key id {kid!r}: 1-16 letters, digits, '-' or '_'")
            if len(key) != KEY_BYTES:
                raise ValueError(f"field key {kid!r} must be {KEY_BYTES} bytes")
        if self.current not in self.keys:
            raise ValueError(f"the current field key {self.current!r} is not among the keys {sorted(self.keys)}")
        if not self.index_keys or any(len(k) != KEY_BYTES for k in self.index_keys):
            raise ValueError(f"the field index key must be {KEY_BYTES} bytes")

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Keyring:
        """The settings' keys (production, from a Secret) or the embedded profile's key file."""
        if not settings.field_encryption_keys:
            return _from_file(settings.var_dir / "keys" / KEY_FILE)
        keys = {kid: _key(text, f"field key {kid!r}") for kid, text in settings.field_encryption_keys.items()}
        current = settings.field_encryption_current_key or (next(iter(keys)) if len(keys) == 1 else "")
        if not current:
            raise ValueError("several field keys: set field_encryption_current_key")
        if not settings.field_index_key:
            raise ValueError("field_encryption_keys is set but field_index_key is not")
        index = [_key(settings.field_index_key, "field_index_key")]
        if settings.field_index_previous_key:
            index.append(_key(settings.field_index_previous_key, "field_index_previous_key"))
        return cls(keys, current, tuple(index))

    def _cipher(self, kid: str) -> AESGCM:
        if kid not in self._ciphers:
            self._ciphers[kid] = AESGCM(self.keys[kid])
        return self._ciphers[kid]

    def encrypt(self, plain: str, place: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(self.current).encrypt(nonce, plain.encode(), _aad(self.current, place))
        return f"{VERSION}:{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, place: str) -> str:
        match = _TOKEN.match(stored)
        if match is None:
            raise FieldKeyError(f"{place}: not an encrypted value")
        kid = match.group(1)
        if kid not in self.keys:
            raise FieldKeyError(f"{place}: encrypted with key {kid!r}, which is not configured")
        raw = base64.urlsafe_b64decode(match.group(2))
        try:
            return self._cipher(kid).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid, place)).decode()
        except InvalidTag as exc:
            raise FieldKeyError(f"{place}: the value was altered or belongs elsewhere") from exc

    def index(self, kind: str, value: str) -> str:
        """The blind index under the current index key."""
        return self._index(self.index_keys[0], kind, value)

    def indexes(self, kind: str, value: str) -> list[str]:
        """Every index the value may be stored under (two while the index key is being replaced)."""
        return [self._index(key, kind, value) for key in self.index_keys]

    def lookup(self, kind: str, text: str) -> list[str]:
        """The indexes a typed search is looked up by. A masked number (with '*') is never looked
        up: its digits are not the number's, and matching on them would tell the hidden ones."""
        if "*" in text or not normalise(kind, text):
            return []
        return self.indexes(kind, text)

    @staticmethod
    def _index(key: bytes, kind: str, value: str) -> str:
        # The kind is hashed too: the same digits as a phone and as an ID card index differently.
        return hmac.new(key, f"{kind}:{normalise(kind, value)}".encode(), hashlib.sha256).hexdigest()


def key_id_of(stored: str) -> str | None:
    match = _TOKEN.match(stored)
    return match.group(1) if match else None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.match(value) is not None


def _aad(kid: str, place: str) -> bytes:
    return f"{VERSION}:{kid}:{place}".encode()


# --- the embedded profile's key file ---------------------------------------------------------------

_file_lock = threading.Lock()


def _from_file(path: Path) -> Keyring:
    """var/keys/field-keys.json, made (0600) by whichever process needs it first."""
    with _file_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _parse_file(path)
        kid = secrets.token_hex(4)
        with os.fdopen(fd, "w") as handle:
            json.dump({"keys": {kid: new_key()}, "current": kid, "index_key": new_key()}, handle, indent=2)
        return _parse_file(path)


def _parse_file(path: Path) -> Keyring:
    for _ in range(50):
        text = path.read_text()
        if text.strip():
            break
        # Another process created it a moment ago and is still writing.
        threading.Event().wait(0.02)
    data = json.loads(text)
    keys = {kid: _key(value, f"{path}: key {kid!r}") for kid, value in data["keys"].items()}
    index = [_key(data["index_key"], f"{path}: index_key")]
    if data.get("previous_index_key"):
        index.append(_key(data["previous_index_key"], f"{path}: previous_index_key"))
    return Keyring(keys, data["current"], tuple(index))


def add_file_key(settings: ServiceSettings, *, index: bool = False) -> str:
    """Embedded profile: a new current encryption key (or index key, the old one kept as previous)
    in the key file; answers the new key id (or "index"). In production IT edits the Secret."""
    if settings.field_encryption_keys:
        raise ValueError("the field keys come from the settings (a Secret): add the new key there")
    path = settings.var_dir / "keys" / KEY_FILE
    _from_file(path)  # made if missing
    data = json.loads(path.read_text())
    if index:
        data["previous_index_key"], data["index_key"] = data["index_key"], new_key()
        kid = "index"
    else:
        kid = secrets.token_hex(4)
        data["keys"][kid] = new_key()
        data["current"] = kid
    _write_file(path, data)
    return kid


def _write_file(path: Path, data: dict[str, Any]) -> None:
    # Written aside and renamed: a process reading the file never sees half of it.
    scratch = path.with_suffix(".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    scratch.replace(path)


def drop_previous_index_key(settings: ServiceSettings) -> None:
    """Embedded profile, once every service is re-indexed: the key file's previous index key goes."""
    path = settings.var_dir / "keys" / KEY_FILE
    data = json.loads(path.read_text())
    data.pop("previous_index_key", None)
    _write_file(path, data)


# --- engines carry their keyring -------------------------------------------------------------------

_ATTRIBUTE = "hamp_keyring"


class _Once:
    """Loads the keyring on first use: a service that never touches personal data never makes keys."""

    def __init__(self, load: Callable[[], Keyring]) -> None:
        self._load = load
        self._ring: Keyring | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Keyring:
        if self._ring is None:
            with self._lock:
                if self._ring is None:
                    self._ring = self._load()
        return self._ring


def attach(engine: Any, load: Callable[[], Keyring] | Keyring) -> None:
    """Values read and written through `engine` (sync or async) use this keyring."""
    source = _Once(lambda: load) if isinstance(load, Keyring) else _Once(load)
    setattr(engine.dialect, _ATTRIBUTE, source)


def attach_settings(engine: Any, settings: ServiceSettings) -> None:
    attach(engine, lambda: Keyring.from_settings(settings))


def keyring_of(bind: Any) -> Keyring:
    """The keyring of a dialect, an engine or connection, or a session (sync or async)."""
    if not isinstance(bind, Dialect):
        if hasattr(bind, "get_bind"):
            bind = bind.get_bind()
        bind = bind.dialect
    source: Callable[[], Keyring] | None = getattr(bind, _ATTRIBUTE, None)
    if source is None:
        raise FieldKeyError("this database connection has no field keys (fieldcrypt.attach was not called)")
    return source()


class EncryptedString(TypeDecorator[str]):
    """A column holding `place`'s values ("table.column") encrypted; plain str in Python.

    `index` names the kind ("id_card", "phone") of the blind index kept in ``<column>_index``
    (see `maintain_indexes`). Never compare such a column in SQL: equal values encrypt differently.
    """

    impl = String
    cache_ok = True

    def __init__(self, place: str, max_chars: int, index: str | None = None) -> None:
        super().__init__(length=ciphertext_length(max_chars))
        self.place = place
        self.max_chars = max_chars
        self.index = index

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).encrypt(value, self.place)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).decrypt(value, self.place)


def encrypted_columns(table: Any) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, EncryptedString)]


def indexed_columns(table: Any) -> list[tuple[str, str]]:
    """(column, index kind) of the encrypted columns that have a blind index."""
    return [(c.name, c.type.index) for c in encrypted_columns(table) if c.type.index]


def maintain_indexes(model: type[SQLModel]) -> None:
    """Before every insert and update of `model`, ``<column>_index`` is recomputed from the
    (plain) value, so no service function has to remember it."""
    indexed = indexed_columns(table_of(model))

    def refresh(_mapper: Any, connection: Connection, target: Any) -> None:
        ring = keyring_of(connection)
        for name, kind in indexed:
            value = getattr(target, name)
            setattr(target, f"{name}_index", None if not value else ring.index(kind, value))

    event.listen(model, "before_insert", refresh)
    event.listen(model, "before_update", refresh)


# --- audit rows ------------------------------------------------------------------------------------


def seal_values(ring: Keyring, values: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """An audit row's before/after with `fields` encrypted and their blind indexes left out."""
    wanted = set(fields)
    out = {}
    for name, value in values.items():
        if name.endswith("_index") and name.removesuffix("_index") in wanted:
            continue
        if name in wanted and isinstance(value, str) and value:
            value = ring.encrypt(value, f"{AUDIT_PLACE}.{name}")
        out[name] = value
    return out


REMOVED = "***"


def open_values(ring_of: Callable[[], Keyring], values: dict[str, Any]) -> dict[str, Any]:
    """Sealed values of an audit row opened; one whose key was retired reads as *** (a retired
    key shreds the personal data of old audit rows, which are never rewritten)."""
    out = dict(values)
    for name, value in values.items():
        if is_sealed(value):
            try:
                out[name] = ring_of().decrypt(value, f"{AUDIT_PLACE}.{name}")
            except FieldKeyError:
                out[name] = REMOVED
    return out


# --- rotation ----------------------------------------------------------------------------------------


@dataclass
class Rotated:
    table: str
    rows: int


def rotate(connection: Connection, metadata: Any, *, batch: int = 500) -> list[Rotated]:
    """Re-encrypts every encrypted value of `metadata`'s tables with the current key and
    recomputes every blind index with the current index key, in batches of `batch` rows (each
    batch commits; a run stopped half-way is simply run again)."""
    ring = keyring_of(connection)
    done = []
    for table in metadata.sorted_tables:
        columns = encrypted_columns(table)
        if not columns:
            continue
        indexed = indexed_columns(table)
        (key,) = table.primary_key.columns
        count, last = 0, None
        while True:
            query = select(key, *columns).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = connection.execute(query).all()
            if not rows:
                break
            for row in rows:
                values: dict[str, Any] = {c.name: row._mapping[c.name] for c in columns}
                for name, kind in indexed:
                    values[f"{name}_index"] = ring.index(kind, values[name]) if values[name] else None
                connection.execute(update(table).where(key == row[0]).values(**values))
            connection.commit()
            count, last = count + len(rows), rows[-1][0]
        done.append(Rotated(table.name, count))
    return done


def rotate_service(settings: ServiceSettings, metadata: Any) -> list[Rotated]:
    """`hamp rotate-field-key` for one service: its database, opened with its settings' keys."""
    from sqlalchemy import create_engine

    from shared.migrations import sync_url  # shared.migrations imports this module

    engine = create_engine(sync_url(settings.effective_database_url))
    attach_settings(engine, settings)
    try:
        with engine.connect() as connection:
            return rotate(connection, metadata)
    finally:
        engine.dispose()
