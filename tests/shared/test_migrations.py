"""`upgrade` at every start costs a version-table read, not alembic, when there is nothing to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from dbs.settings import DbsSettings
from shared import components
from shared.migrations import alembic_config, at_head, head_revisions, upgrade
from tests.conftest import DatabaseUnderTest
from tests.support.servers import ROOT

MIGRATED = [name for name in components.available() if (ROOT / name / "migrations" / "versions").is_dir()]


@pytest.mark.parametrize("component", MIGRATED)
def test_heads_read_from_the_files_are_alembics(component: str, tmp_path: Path) -> None:
    settings = components.load(component).settings_class(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    migrations = ROOT / component / "migrations"
    script = ScriptDirectory.from_config(alembic_config(settings, migrations))
    assert head_revisions(migrations) == set(script.get_heads())


def test_a_database_at_head_is_not_migrated_again_and_alembic_is_not_imported(database: DatabaseUnderTest) -> None:
    settings = DbsSettings(database_url=database.url, log_to_file=False)
    migrations = ROOT / "dbs" / "migrations"
    upgrade(settings, migrations)
    assert at_head(settings, migrations)
    # What a service does at every start, in a fresh interpreter.
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from dbs.settings import DbsSettings\n"
        "from shared.migrations import upgrade\n"
        f"upgrade(DbsSettings(database_url={database.url!r}, log_to_file=False), Path({str(migrations)!r}))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_database_behind_or_new_is_migrated(tmp_path: Path) -> None:
    settings = DbsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'dbs.db'}")
    migrations = ROOT / "dbs" / "migrations"
    assert not at_head(settings, migrations)  # no version table yet
    upgrade(settings, migrations, "0001")
    assert not at_head(settings, migrations)
    upgrade(settings, migrations)
    assert at_head(settings, migrations)
