"""shared.fieldcrypt: authenticated encryption bound to its column, the blind index, the key sources."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from shared import fieldcrypt
from shared.fieldcrypt import FieldKeyError, Keyring
from shared.settings import ServiceSettings


def _key(byte: int) -> bytes:
    return bytes([byte]) * 32


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


RING = Keyring({"a": _key(1)}, "a", (_key(9),))


def test_a_value_opens_only_where_it_was_written() -> None:
    sealed = RING.encrypt("13812345678", "patients.phone")
    assert sealed.startswith("e1:a:") and "13812345678" not in sealed
    assert RING.decrypt(sealed, "patients.phone") == "13812345678"
    assert RING.encrypt("13812345678", "patients.phone") != sealed, "a fresh nonce every time"
    with pytest.raises(FieldKeyError):
        RING.decrypt(sealed, "users.phone")  # copied into another column
    version, kid, body = sealed.split(":")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(FieldKeyError):
        RING.decrypt(f"{version}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", "patients.phone")
    with pytest.raises(FieldKeyError):
        RING.decrypt(f"{version}:b:{body}", "patients.phone")  # the key id is authenticated too


def test_old_keys_open_old_values_and_the_current_one_writes() -> None:
    old = RING.encrypt("x", "t.c")
    both = Keyring({"a": _key(1), "b": _key(2)}, "b", (_key(9),))
    assert both.decrypt(old, "t.c") == "x"
    assert fieldcrypt.key_id_of(both.encrypt("x", "t.c")) == "b"
    with pytest.raises(FieldKeyError, match="not configured"):
        Keyring({"b": _key(2)}, "b", (_key(9),)).decrypt(old, "t.c")


def test_the_column_size_fits_the_longest_value() -> None:
    ring = Keyring({"k" * 16: _key(1)}, "k" * 16, (_key(9),))
    assert len(ring.encrypt("中" * 20, "t.c")) <= fieldcrypt.ciphertext_length(20)


def test_the_blind_index_finds_the_full_number_only() -> None:
    assert RING.index("id_card", "44030419900307123x") == RING.index("id_card", "44030419900307123X")
    assert RING.index("phone", "021-62345678") == RING.index("phone", "02162345678")
    assert RING.index("phone", "110105194912310021") != RING.index("id_card", "110105194912310021")
    assert RING.lookup("phone", "138****5678") == [], "a masked number is never looked up"
    assert RING.lookup("phone", "张三") == []
    other = Keyring({"a": _key(1)}, "a", (_key(8),))
    assert other.index("phone", "13812345678") != RING.index("phone", "13812345678"), "keyed"
    moving = Keyring({"a": _key(1)}, "a", (_key(8), _key(9)))
    assert RING.index("phone", "13812345678") in moving.lookup("phone", "13812345678")


def test_keys_from_the_settings(tmp_path) -> None:
    settings = ServiceSettings(
        var_dir=tmp_path,
        field_encryption_keys={"2026a": _b64(_key(1)), "2026b": _b64(_key(2))},
        field_encryption_current_key="2026b",
        field_index_key=_b64(_key(9)),
    )
    ring = Keyring.from_settings(settings)
    assert (ring.current, ring.index_keys) == ("2026b", (_key(9),))
    assert not (tmp_path / "keys").exists(), "no key file when the settings hold the keys"
    with pytest.raises(ValueError, match="current"):
        Keyring.from_settings(settings.model_copy(update={"field_encryption_current_key": ""}))
    with pytest.raises(ValueError, match="field_index_key"):
        Keyring.from_settings(settings.model_copy(update={"field_index_key": ""}))
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring.from_settings(settings.model_copy(update={"field_encryption_keys": {"a": _b64(b"short")}}))


def test_the_embedded_key_file_is_made_once_private_and_shared(tmp_path) -> None:
    settings = ServiceSettings(var_dir=tmp_path)
    first = Keyring.from_settings(settings)
    path = tmp_path / "keys" / fieldcrypt.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Keyring.from_settings(ServiceSettings(var_dir=tmp_path))
    assert again.decrypt(first.encrypt("x", "t.c"), "t.c") == "x"
    assert again.index("phone", "1") == first.index("phone", "1")

    kid = fieldcrypt.add_file_key(settings)
    rotated = Keyring.from_settings(settings)
    assert rotated.current == kid and set(rotated.keys) == {first.current, kid}
    fieldcrypt.add_file_key(settings, index=True)
    assert Keyring.from_settings(settings).index_keys[1:] == first.index_keys
    fieldcrypt.drop_previous_index_key(settings)
    assert "previous_index_key" not in json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_audit_values_are_sealed_and_read_as_removed_once_their_key_is_gone() -> None:
    row = {"name": "王", "phone": "13812345678", "phone_index": "ab", "id": 1}
    sealed = fieldcrypt.seal_values(RING, row, {"phone"})
    assert "phone_index" not in sealed and "13812345678" not in json.dumps(sealed)
    assert fieldcrypt.open_values(lambda: RING, sealed) == {"name": "王", "phone": "13812345678", "id": 1}
    gone = Keyring({"b": _key(2)}, "b", (_key(9),))
    assert fieldcrypt.open_values(lambda: gone, sealed)["phone"] == fieldcrypt.REMOVED
