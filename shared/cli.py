"""`hamp`: run the platform (`up`), one component (`run`), migrations, demo data, password resets."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from shared import components
from shared.var_files import private_umask


def _run(args: argparse.Namespace) -> None:
    run(args.component, args.port)


def run(component: str, port: int | None = None) -> None:
    """`hamp run <component>`: one component in this process until it is stopped."""
    import gc
    import os
    import signal
    import socket
    from types import FrameType

    from shared.supervisor import SUPERVISED

    supervised = os.environ.get(SUPERVISED) == "1"
    if supervised:  # from here on, while the component is imported and started, too
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # What start-up made (modules, routes, schemas, pools) lives as long as the process:
            # out of the collector's sight, a full collection no longer walks all of it each time
            # (the list read's p99, bench/list_read.py). Garbage is collected first, not kept.
            gc.collect()
            gc.freeze()

    class SupervisedServer(Server):
        """Under `hamp up` a Ctrl-C reaches every child at once; the supervisor then stops them in
        order with SIGTERM, so the child leaves SIGINT to it."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig != signal.SIGINT:
                super().handle_exit(sig, frame)

    module = components.load(component)
    settings = module.settings_class()
    if port:
        settings.port = port
    app = module.create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        # Longer than the callers keep an idle connection (the gateway's pool 30 s, an Ingress 60 s):
        # at uvicorn's 5 s a caller reusing a connection just as it was closed got a 502 now and then.
        timeout_keep_alive=75,
    )
    # Bound before the lifespan starts, so a port already taken stops the component before it
    # registers: the registry never points at whatever else answers on that port.
    try:
        sock = config.bind_socket()
    except SystemExit:
        print(f"{component} 无法监听 {settings.host}:{settings.port}，端口可能已被占用", file=sys.stderr)
        raise
    server = (SupervisedServer if supervised else Server)(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


def become(
    component: str,
    env: dict[str, str],
    output: int,
    port: int | None = None,
    target: Callable[[str], None] | None = None,
) -> NoReturn:
    """In a child just forked from a process that imported the components (`hamp up`'s fork server,
    .ci/production.sh's launcher, the tests' launcher): `hamp run <component>` (or `target`) with
    only `env` as its environment, `output` as its stdout and stderr and nothing on stdin; exits
    with its exit code, as a started `hamp run` would."""
    import importlib
    import os
    import traceback

    code = 1
    try:
        from setproctitle import setproctitle

        # Before the environment is replaced: setproctitle takes the title's room from the memory
        # the environment was started in, which it no longer finds once the environment is cleared.
        setproctitle(f"hamp run {component}")
        os.environ.clear()
        os.environ.update(env)
        # The one module that reads the environment when imported (HAMP_FAILPOINTS), imported by
        # the parent before any child had one.
        from shared import failpoints

        importlib.reload(failpoints)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        if target is not None:
            target(component)
        else:
            run(component, port)
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


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


def _rotate_field_key(args: argparse.Namespace) -> None:
    """Re-encrypts personal data with the current field key and re-indexes it with the current
    index key (docs/security.md, "Personal data at rest", has the whole procedure)."""
    import importlib

    from shared import fieldcrypt

    if args.component and (args.new_key or args.new_index_key):
        sys.exit("--new-key and --new-index-key rotate every service sharing the key file: name none")
    services = []
    for name in args.component or [c for c in components.available() if c != "registry"]:
        module = components.load(name)
        metadata = importlib.import_module(f"{name}.db").metadata
        if any(fieldcrypt.encrypted_columns(t) for t in metadata.sorted_tables):
            services.append((name, module.settings_class(), metadata))
    if not services:
        return
    key_file_settings = services[0][1]
    if args.new_key:
        print(f"new current field key: {fieldcrypt.add_file_key(key_file_settings)}")
    if args.new_index_key:
        fieldcrypt.add_file_key(key_file_settings, index=True)
        print("new field index key")
    for name, settings, metadata in services:
        for done in fieldcrypt.rotate_service(settings, metadata):
            print(f"{name}: {done.table}: {done.rows} row(s) re-encrypted and re-indexed")
    if args.new_index_key:
        # Every row now carries the new index: the old key finds nothing any more.
        fieldcrypt.drop_previous_index_key(key_file_settings)


def _audit_databases(names: list[str]) -> Iterator[tuple[str, Any, Any, list[Any]]]:
    """Each named component (default: all with migrations) with its configured database and its
    chained tables, the engine keyed with its audit key."""
    import importlib

    from sqlalchemy import create_engine

    from shared.audit_chain import audit_key, chains_of, use_key
    from shared.migrations import sync_url

    for name in names or [c for c in components.available() if c != "registry"]:
        module = components.load(name)
        if getattr(module, "MIGRATIONS", None) is None:
            continue
        settings = module.settings_class()
        engine = create_engine(sync_url(settings.effective_database_url))
        use_key(engine, audit_key(settings))
        try:
            yield name, settings, engine, chains_of(importlib.import_module(f"{name}.db").metadata)
        finally:
            engine.dispose()


def _audit_verify(args: argparse.Namespace) -> None:
    from shared.audit_chain import archive_dir, verify_database

    broken = False
    for name, settings, engine, tables in _audit_databases(args.components):
        states = verify_database(engine, tables, name, archive_dir(settings) if args.archives else None)
        if states is None:
            print(f"{name}: 尚未迁移，没有审计链 / not migrated, no audit chain")
            continue
        for state in states:
            text = state.describe()
            print(f"{text.zh} / {text.en}")
            broken = broken or not state.intact
    sys.exit(1 if broken else 0)


def _audit_archive(args: argparse.Namespace) -> None:
    from datetime import timedelta

    from shared.audit_chain import archive, archive_dir
    from shared.clock import utcnow

    for name, settings, engine, tables in _audit_databases(args.components):
        before = utcnow() - timedelta(days=settings.audit_retention_days)
        for table in tables:
            done = archive(engine, table, before, archive_dir(settings), name)
            if done is None:
                print(
                    f"{name} {table.name}: 没有超过 {settings.audit_retention_days} 天的记录 / nothing older than "
                    f"{settings.audit_retention_days} days"
                )
            else:
                print(
                    f"{name} {table.name}: 已归档 {done.rows} 条 / archived {done.rows} rows "
                    f"({done.first_id}-{done.last_id}) -> {done.path}"
                )


def _say(zh: str, en: str) -> None:
    print(f"{zh} / {en}", flush=True)


def _backup(args: argparse.Namespace) -> None:
    from shared.backup import BackupError, backup

    try:
        print(backup(args.to, _say, keep=args.keep))
    except BackupError as exc:
        sys.exit(str(exc))


def _restore(args: argparse.Namespace) -> None:
    from shared.backup import BackupError, restore

    try:
        restore(args.source, _say)
    except BackupError as exc:
        sys.exit(str(exc))


def _healthcheck(args: argparse.Namespace) -> None:
    from shared.healthcheck import check

    problem = check()
    if problem:
        sys.exit(problem)


def _settings(args: argparse.Namespace) -> None:
    from shared.settings import settings_table

    for name in components.available():
        print(f"\n#### {name}\n")
        print(settings_table(components.load(name).settings_class))


def _up(args: argparse.Namespace) -> None:
    from shared.supervisor import up

    sys.exit(up(only=args.only))


def _one_of(names: tuple[str, ...]) -> Callable[[str], str]:
    """A positional `nargs="*"` with `choices` refuses being given none on Python 3.11 ("invalid
    choice: []"): the names are checked one by one instead."""

    def check(name: str) -> str:
        if name not in names:
            raise argparse.ArgumentTypeError(f"invalid choice: {name!r} (choose from {', '.join(names)})")
        return name

    return check


def main(argv: list[str] | None = None) -> None:
    # Before anything is written: what `hamp` and its children create under var/ (databases,
    # logs, keys, objects) is readable by this user only (shared/var_files.py).
    private_umask()
    parser = argparse.ArgumentParser(prog="hamp", description="HAMP — hospital archive management platform")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("up", help="start the whole platform on this machine and supervise it")
    p.add_argument("--only", nargs="*", help="start only these components (the registry and the gateway always start)")
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

    p = commands.add_parser(
        "rotate-field-key", help="re-encrypt ID cards and phones with the current field key and re-index them"
    )
    p.add_argument("component", nargs="*", help="the services to rotate (default: every one with personal data)")
    p.add_argument("--new-key", action="store_true", help="embedded profile: first make a new current key")
    p.add_argument("--new-index-key", action="store_true", help="embedded profile: first make a new index key")
    p.set_defaults(func=_rotate_field_key)

    p = commands.add_parser(
        "backup", help="back up every service's database, objects and (embedded) keys into a new folder under --to"
    )
    p.add_argument(
        "--to", type=Path, required=True, help="where backups are kept; each is a new hamp-<UTC time> folder"
    )
    p.add_argument("--keep", type=int, metavar="N", help="then remove all but the newest N backups there")
    p.set_defaults(func=_backup)

    p = commands.add_parser("restore", help="restore a backup into empty databases, buckets and var/ (docs/backup.md)")
    p.add_argument("--from", dest="source", type=Path, required=True, help="the backup: a hamp-<UTC time> folder")
    p.set_defaults(func=_restore)

    p = commands.add_parser(
        "healthcheck", help="the image's HEALTHCHECK: every `hamp run <component>` here answers /health (exit 1 if not)"
    )
    p.set_defaults(func=_healthcheck)

    p = commands.add_parser("settings", help="print every setting of every component (Markdown)")
    p.set_defaults(func=_settings)

    audit = commands.add_parser("audit", help="the tamper-evident audit trail: verify it, archive old rows")
    actions = audit.add_subparsers(dest="action", required=True)
    services = (*components.SERVICES, "gateway")
    p = actions.add_parser("verify", help="check every audit chain; exit 1 naming the first edited or deleted row")
    p.add_argument("components", nargs="*", type=_one_of(services), metavar="component")
    p.add_argument("--archives", action="store_true", help="also check the archive files under var/archive")
    p.set_defaults(func=_audit_verify)
    p = actions.add_parser("archive", help="move rows older than audit_retention_days to var/archive/<component>")
    p.add_argument("components", nargs="*", type=_one_of(services), metavar="component")
    p.set_defaults(func=_audit_archive)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
