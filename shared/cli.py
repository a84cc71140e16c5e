"""`hamp`: run the platform (`up`), one component (`run`), migrations, demo data, password resets."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

from shared import components


def _run(args: argparse.Namespace) -> None:
    import uvicorn

    module = components.load(args.component)
    settings = module.settings_class()
    if args.port:
        settings.port = args.port
    app = module.create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def _migrate(args: argparse.Namespace) -> None:
    from shared.migrations import upgrade

    names = [args.component] if args.component else [c for c in components.available() if c != "registry"]
    for name in names:
        module = components.load(name)
        migrations = getattr(module, "MIGRATIONS", None)
        if migrations is None:
            continue
        upgrade(module.settings_class(), migrations)
        print(f"{name}: migrated")


def _make_migration(args: argparse.Namespace) -> None:
    """Autogenerates the next revision of a component from its models, against a scratch SQLite
    database migrated to the current head (so it holds only what changed)."""
    import tempfile
    from pathlib import Path

    from alembic import command

    from shared.migrations import alembic_config, upgrade

    module = components.load(args.component)
    with tempfile.TemporaryDirectory() as scratch:
        settings = module.settings_class(database_url=f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}")
        upgrade(settings, module.MIGRATIONS)
        script = command.revision(
            alembic_config(settings, module.MIGRATIONS), message=args.message, autogenerate=True, rev_id=args.rev_id
        )
    # Generated code, made to pass the project's lint like any other file.
    for revision in script if isinstance(script, list) else [script]:
        if revision is not None:
            subprocess.run(
                [sys.executable, "-m", "ruff", "check", "--fix", "--unsafe-fixes", "-q", revision.path], check=False
            )
            subprocess.run([sys.executable, "-m", "ruff", "format", "-q", revision.path], check=False)


def _demo(args: argparse.Namespace) -> None:
    names = [args.component] if args.component else components.available()
    for name in names:
        module = components.load(name)
        loader = getattr(module, "load_demo_data", None)
        if loader is not None:
            added = asyncio.run(loader(module.settings_class()))
            print(f"{name}: {'demo data loaded' if added else 'already has data, left as it is'}")


def _reset_password(args: argparse.Namespace) -> None:
    module = components.load("gateway")
    password = asyncio.run(module.reset_password(module.settings_class(), args.username))
    print(f"new password for {args.username}: {password}")


def _settings(args: argparse.Namespace) -> None:
    from shared.settings import settings_table

    for name in components.available():
        print(f"\n#### {name}\n")
        print(settings_table(components.load(name).settings_class))


def _up(args: argparse.Namespace) -> None:
    from shared.supervisor import up

    sys.exit(up(only=args.only))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hamp", description="HAMP — hospital archive management platform")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("up", help="start the whole platform on this machine and supervise it")
    p.add_argument("--only", nargs="*", help="start only these components (the registry always starts)")
    p.set_defaults(func=_up)

    p = commands.add_parser("run", help="run one component in the foreground")
    p.add_argument("component", choices=components.ALL)
    p.add_argument("--port", type=int, default=0, help="override the component's port")
    p.set_defaults(func=_run)

    p = commands.add_parser("migrate", help="apply database migrations (all services, or one)")
    p.add_argument("component", nargs="?", choices=(*components.SERVICES, "gateway"))
    p.set_defaults(func=_migrate)

    p = commands.add_parser("make-migration", help="autogenerate a component's next migration from its models")
    p.add_argument("component", choices=(*components.SERVICES, "gateway"))
    p.add_argument("-m", "--message", required=True)
    p.add_argument("--rev-id", help="the revision id (default: random)")
    p.set_defaults(func=_make_migration)

    p = commands.add_parser("demo-data", help="load demo data into services that are still empty")
    p.add_argument("component", nargs="?", choices=components.ALL)
    p.set_defaults(func=_demo)

    p = commands.add_parser("reset-password", help="give a user a new generated password")
    p.add_argument("username")
    p.set_defaults(func=_reset_password)

    p = commands.add_parser("settings", help="print every setting of every component (Markdown)")
    p.set_defaults(func=_settings)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
