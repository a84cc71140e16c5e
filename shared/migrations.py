"""Alembic per service: each service migrates only its own metadata, with its own version table.

Migrations run synchronously (pysqlite / PyMySQL, which aiomysql already depends on) so
they can run from the CLI, from a Helm pre-upgrade job, or from a thread at start-up.

Alembic (with mako and pygments) is imported only when there is something to migrate: every
service calls `upgrade` at every start, and on a database already at the newest revision a
version-table read answers that for a fraction of the import's time and memory.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, create_engine, engine_from_config, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shared.fieldcrypt import Keyring
from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("hamp.migrations")


def sync_url(url: str) -> str:
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "mysql": "mysql+pymysql"}.get(parsed.get_backend_name())
    if driver is None:
        raise ValueError(f"unsupported database: {parsed.get_backend_name()}")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def alembic_config(settings: ServiceSettings, migrations_dir: Path) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolation would eat a '%' in a password.
    config.set_main_option("sqlalchemy.url", sync_url(settings.effective_database_url).replace("%", "%%"))
    config.attributes["component"] = settings.component
    # A migration that rewrites personal data reads the field keys from these (data_keyring below).
    config.attributes["settings"] = settings
    return config


def data_keyring() -> Keyring:
    """Inside a migration: the field keys of the service being migrated (shared/fieldcrypt.py)."""
    from alembic import context

    settings = context.config.attributes.get("settings")
    if settings is None:
        raise RuntimeError("this migration encrypts data: run it through hamp migrate (it needs the field keys)")
    return Keyring.from_settings(settings)


def upgrade(settings: ServiceSettings, migrations_dir: Path, revision: str = "head") -> None:
    if revision == "head" and at_head(settings, migrations_dir):
        return
    from alembic import command

    log.info("migrating %s to %s", settings.component, revision)
    command.upgrade(alembic_config(settings, migrations_dir), revision)


# The module-level assignments alembic writes into every revision file (script.py.mako).
_REVISION = re.compile(r"""^revision\b[^=\n]*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.MULTILINE)


def head_revisions(migrations_dir: Path) -> set[str]:
    """The newest revision(s), read from the revision files' text: those no other revision
    follows. Empty when a file is not in the expected shape (then alembic decides)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (migrations_dir / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return set()
        revisions.add(revision.group(1))
        followed.update(re.findall(r"""["']([^"']+)["']""", down.group(1)))
    return revisions - followed


def at_head(settings: ServiceSettings, migrations_dir: Path) -> bool:
    """Whether the service's version table already names exactly the newest revision(s)."""
    heads = head_revisions(migrations_dir)
    if not heads:
        return False
    engine = create_engine(sync_url(settings.effective_database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT version_num FROM alembic_version_{settings.component}"))
            current = {row[0] for row in rows}
    except DBAPIError:  # no version table yet: a new database
        return False
    finally:
        engine.dispose()
    return current == heads


def run_env(metadata: MetaData, component: str) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    config = context.config
    version_table = f"alembic_version_{component}"
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            version_table=version_table,
            literal_binds=True,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
