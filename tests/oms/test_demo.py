"""The demo patients a newcomer finds at the outpatient desk: loaded once, valid, searchable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import create_engine, text

import oms.main
from oms import demo
from oms.settings import OmsSettings
from shared.fieldcrypt import Keyring
from shared.id_card import birth_date_of, validate_id_card
from shared.migrations import sync_url


def test_demo_patients_load_once_with_valid_id_cards(tmp_path: Path) -> None:
    settings = OmsSettings(var_dir=tmp_path, log_to_file=False, database_url="")
    assert asyncio.run(oms.main.load_demo_data(settings)) is True
    assert asyncio.run(oms.main.load_demo_data(settings)) is False
    engine = create_engine(sync_url(settings.effective_database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, birth_date, id_card FROM patients")).all()
        audited = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'patient'")).scalar()
    engine.dispose()
    assert len(rows) == len(demo.PATIENTS) == audited
    keyring = Keyring.from_settings(settings)  # stored encrypted (shared/fieldcrypt.py)
    id_cards = [keyring.decrypt(r.id_card, "patients.id_card") for r in rows]
    assert len(set(id_cards)) == len(rows)
    for row, id_card in zip(rows, id_cards, strict=True):
        assert validate_id_card(id_card) == id_card
        assert birth_date_of(id_card).isoformat() == str(row.birth_date)
