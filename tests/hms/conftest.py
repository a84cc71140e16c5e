"""The inpatient service with the services it works with, as real servers behind a real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hms.ward import Ward, ward_on


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """On SQLite; a module that needs MariaDB too parametrizes its own fixture with ward_on."""
    with ward_on("sqlite", Path(tmp_path_factory.mktemp("hms"))) as ward:
        yield ward
