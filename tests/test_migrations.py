"""Each service's migrations build exactly the tables its models describe, on SQLite and MariaDB."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from shared.components import available
from shared.migrations import sync_url, upgrade
from tests.conftest import DatabaseUnderTest

MIGRATED = [name for name in available() if getattr(importlib.import_module(f"{name}.main"), "MIGRATIONS", None)]


@pytest.mark.parametrize("component", MIGRATED)
def test_migrations_match_models(component: str, database: DatabaseUnderTest) -> None:
    main = importlib.import_module(f"{component}.main")
    metadata = importlib.import_module(f"{component}.db").metadata
    settings = main.settings_class(database_url=database.url, log_to_file=False)
    upgrade(settings, main.MIGRATIONS)
    engine = create_engine(sync_url(database.url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]
            tables = set(inspect(connection).get_table_names())
        assert differences == [], f"{component}: models and migrations differ; run alembic revision --autogenerate"
        assert f"alembic_version_{component}" in tables, "each service keeps its own version table"
        # Upgrading again is a no-op (hamp migrate runs at every start in the embedded profile).
        upgrade(settings, main.MIGRATIONS)
    finally:
        # The next component migrates its own tables into the same database: drop ours.
        metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE alembic_version_{component}")
        engine.dispose()
