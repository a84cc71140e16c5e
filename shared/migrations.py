"""Alembic per service: each service migrates only its own metadata, with its own version table.

Migrations run synchronously (pysqlite / PyMySQL, which aiomysql already depends on) so
they can run from the CLI, from a Helm pre-upgrade job, or from a thread at start-up.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool
from sqlalchemy.engine import make_url

from shared.fieldcrypt import Keyring
from shared.settings import ServiceSettings

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
    log.info("migrating %s to %s", settings.component, revision)
    command.upgrade(alembic_config(settings, migrations_dir), revision)


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
