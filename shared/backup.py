"""`hamp backup --to DIR` and `hamp restore --from DIR` (docs/backup.md).

A backup is a folder `DIR/hamp-<UTC time>/` holding, per service, its database, its objects and,
in the embedded profile, the keys; and `manifest.json` naming every file with its size and SHA-256.
Every part is found from the service's own settings, read from the environment as the service
reads them (HAMP_<SVC>_DATABASE_URL before HAMP_DATABASE_URL, …), so one command covers both
profiles, part by part:

- a database on SQLite is copied with SQLite's online backup API (one step: a consistent snapshot,
  safe beside a running service in WAL mode); one on MySQL/MariaDB is dumped with
  `mariadb-dump --single-transaction` (one consistent InnoDB snapshot), the credentials in a
  0600 options file, never on the command line;
- objects come from var/objects/<svc> or the service's MinIO bucket, after the databases: every
  object a snapshot's rows name was already stored when it was taken (uploads store the object
  before the row);
- var/keys (service secret, field keys, audit key, the gateway's signing key) when the keys are
  there; keys given in settings (Kubernetes Secrets) are not copied — the manifest names them, and
  records a fingerprint of the field and audit keys the data needs, so that a restore can refuse
  to load data the configured keys cannot open or verify.

A restore first checks everything — every checksum, that the backup's migrations are known to
this code, that every target (database, var files, bucket) is empty, that the keys fit — and
writes nothing when a check fails. Then it loads the databases and buckets and moves the var
files into place from staged copies; if anything fails, what it wrote is removed again.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from shared import components
from shared.fieldcrypt import KEY_FILE as FIELD_KEY_FILE
from shared.fieldcrypt import VERSION as SEALED_VERSION
from shared.migrations import _REVISION, sync_url
from shared.settings import HampSettings, ServiceSettings
from shared.storage import MinioObjectStore, StorageError, check_key

FORMAT = 1
MANIFEST = "manifest.json"
NAME_PREFIX = "hamp-"
PARTIAL_PREFIX = ".partial-"
AUDIT_KEY_FILE = "audit-key"
CHUNK = 1 << 20
# An encrypted value as shared/fieldcrypt.py writes it; 40 characters at least: nonce and tag alone
# are 28 bytes. Found anywhere in a dump or snapshot (columns and the audit rows' JSON alike).
_SEALED = re.compile(rb"e1:([A-Za-z0-9_-]{1,16}):[A-Za-z0-9_=-]{40,}".replace(b"e1", SEALED_VERSION.encode()))
# Keys given in settings instead of var/keys: the restore environment must be given them again.
_SECRET_SETTINGS = ("service_secret", "field_encryption_keys", "field_index_key", "audit_key")


class BackupError(Exception):
    """A backup or restore refused or failed; the message is for the operator, Chinese first."""

    def __init__(self, zh: str, en: str, details: list[str] | None = None) -> None:
        super().__init__(f"{zh} / {en}" + "".join(f"\n  - {line}" for line in details or []))


Say = Callable[[str, str], None]


def _quiet(zh: str, en: str) -> None:
    pass


# --- what the platform holds, from each service's settings ------------------------------------------


@dataclass
class Service:
    name: str
    settings: ServiceSettings

    @property
    def url(self) -> URL:
        return make_url(self.settings.effective_database_url)

    @property
    def kind(self) -> str:
        backend = self.url.get_backend_name()
        if backend not in ("sqlite", "mysql"):
            raise BackupError(f"{self.name}：不支持的数据库 {backend}", f"{self.name}: unsupported database {backend}")
        return backend

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    @property
    def objects_dir(self) -> Path:
        # shared/storage.py LocalObjectStore: var/objects/<bucket>, and each service's bucket is its name.
        return self.settings.var_dir / "objects" / self.name


def services() -> list[Service]:
    """Every component of this checkout that keeps data (the registry keeps its leases in memory)."""
    found = []
    for name in components.available():
        settings = components.settings_class(name)()
        if isinstance(settings, ServiceSettings):
            found.append(Service(name, settings))
    return found


def _minio(service: Service) -> MinioObjectStore:
    """The service's MinIO store; its client is used directly (mirroring needs listing and files)."""
    return MinioObjectStore(service.settings.storage_url, service.name)


# --- files and checksums ------------------------------------------------------------------------------


def _digest(path: Path, scan: set[str] | None = None) -> tuple[int, str]:
    """Size and SHA-256 of a file; with `scan`, also the field key ids of the sealed values in it."""
    sha, size, tail = hashlib.sha256(), 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            if scan is not None:
                window = tail + chunk
                scan.update(m.group(1).decode() for m in _SEALED.finditer(window))
                tail = window[-200:]  # a value cut by the chunk boundary is found whole in the next window
    return size, sha.hexdigest()


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copies a file (the umask gives it owner-only modes) and answers what was written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sha, size = hashlib.sha256(), 0
    with source.open("rb") as reading, target.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            writing.write(chunk)
        writing.flush()
        os.fsync(writing.fileno())
    return size, sha.hexdigest()


def _files_under(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _fingerprint(key: bytes) -> str:
    # Enough to tell two keys apart, nothing to find the key by (the keys are 32 random bytes).
    return hashlib.sha256(b"hamp-backup-key\0" + key).hexdigest()[:16]


def _field_keys(settings: ServiceSettings, keys_dir: Path) -> tuple[dict[str, bytes], bytes | None]:
    """The field encryption keys by id and the index key: from the settings (a Secret), else from
    the key file in `keys_dir`; read only, never made."""
    if settings.field_encryption_keys:
        keys = {kid: base64.b64decode(value) for kid, value in settings.field_encryption_keys.items()}
        return keys, base64.b64decode(settings.field_index_key) if settings.field_index_key else None
    path = keys_dir / FIELD_KEY_FILE
    if not path.is_file():
        return {}, None
    data = json.loads(path.read_text())
    keys = {kid: base64.b64decode(value) for kid, value in data["keys"].items()}
    return keys, base64.b64decode(data["index_key"]) if data.get("index_key") else None


def _audit_key(settings: ServiceSettings, keys_dir: Path) -> bytes | None:
    if settings.audit_key:
        return settings.audit_key.encode()
    path = keys_dir / AUDIT_KEY_FILE
    return path.read_text().strip().encode() if path.is_file() else None


# --- MySQL / MariaDB through its own client tools -----------------------------------------------------


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise BackupError(
        f"找不到 {names[0]}：请安装 mariadb-client", f"{names[0]} not found: install mariadb-client (Debian package)"
    )


def _quote_option(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def _client_options(url: URL) -> Iterator[str]:
    """A [client] options file (0600, in a private temporary folder) holding the server and the
    credentials: on a command line `ps` would show the password to every user of the machine."""
    lines = ["[client]", f"user={_quote_option(url.username or '')}"]
    if url.password:
        lines.append(f"password={_quote_option(str(url.password))}")
    socket = url.query.get("unix_socket")
    if socket:
        lines.append(f"socket={_quote_option(str(socket))}")
    else:
        lines += [f"host={_quote_option(url.host or '127.0.0.1')}", f"port={url.port or 3306}", "protocol=TCP"]
    lines.append("default-character-set=utf8mb4")
    with tempfile.TemporaryDirectory(prefix="hamp-mysql-") as folder:
        path = Path(folder) / "client.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield str(path)


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _run_client(command: list[str], what: tuple[str, str], stdin: Path | None = None) -> None:
    if stdin is None:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    else:
        with stdin.open("rb") as source:
            done = subprocess.run(command, stdin=source, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # The client's own message names user and server, never the password (it is in the options file).
        raise BackupError(f"{what[0]}失败", f"{what[1]} failed", [(done.stderr or done.stdout).strip()[-2000:]])


def _mysql_dump(url: URL, target: Path) -> None:
    tool = _tool("mariadb-dump", "mysqldump")
    with _client_options(url) as options:
        command = [
            tool,
            f"--defaults-file={options}",  # must come first
            "--single-transaction",
            "--routines",
            "--triggers",
            "--hex-blob",
            "--no-tablespaces",
            f"--result-file={target}",
            str(url.database),
        ]
        _run_client(command, (f"导出数据库 {_shown(url)}", f"dumping {_shown(url)}"))


def _mysql_load(url: URL, dump: Path) -> None:
    tool = _tool("mariadb", "mysql")
    with _client_options(url) as options:
        command = [tool, f"--defaults-file={options}", "--batch", f"--database={url.database}"]
        _run_client(command, (f"导入数据库 {_shown(url)}", f"loading into {_shown(url)}"), stdin=dump)


def _mysql_engine(url: URL, database: bool = True) -> Any:
    target = url if database else url.set(database="")
    return create_engine(sync_url(target.render_as_string(hide_password=False)), poolclass=pool.NullPool)


def _mysql_tables(url: URL) -> list[str] | None:
    """The database's tables and views, or None when the database does not exist."""
    engine = _mysql_engine(url)
    try:
        with engine.connect() as conn:
            return list(inspect(conn).get_table_names()) + list(inspect(conn).get_view_names())
    except DBAPIError as exc:
        if getattr(exc.orig, "args", (None,))[0] == 1049:  # ER_BAD_DB_ERROR: no such database
            return None
        raise BackupError(
            f"无法连接数据库 {_shown(url)}：{exc.orig}", f"cannot reach the database {_shown(url)}: {exc.orig}"
        ) from exc
    finally:
        engine.dispose()


def _mysql_create(url: URL) -> None:
    engine = _mysql_engine(url, database=False)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    finally:
        engine.dispose()


def _mysql_empty(url: URL, drop_database: bool) -> None:
    """Undoes a load into a database that was empty: it is empty (or gone) again."""
    engine = _mysql_engine(url, database=False)
    try:
        with engine.begin() as conn:
            if drop_database:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
                return
            conn.execute(text(f"USE `{url.database}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for view in inspect(conn).get_view_names():
                conn.execute(text(f"DROP VIEW IF EXISTS `{view}`"))
            for table in inspect(conn).get_table_names():
                conn.execute(text(f"DROP TABLE IF EXISTS `{table}`"))
    finally:
        engine.dispose()


def _heads(engine: Any, name: str) -> list[str]:
    try:
        with engine.connect() as conn:
            return sorted(row[0] for row in conn.execute(text(f"SELECT version_num FROM alembic_version_{name}")))
    except DBAPIError:
        return []  # never migrated


# --- SQLite --------------------------------------------------------------------------------------------


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy while the service writes: the online backup API copies every page in one
    step inside one read transaction, which in WAL mode blocks no writer."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # One self-contained file (no -wal beside it), and no free pages: what deleted rows left
            # there would otherwise be backed up (and scanned for key ids) too.
            dst.execute("PRAGMA journal_mode=DELETE")
            dst.execute("VACUUM")
            if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} 的快照损坏", f"the snapshot of {source} is damaged")
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_heads(path: Path, name: str) -> list[str]:
    engine = create_engine(f"sqlite:///{path}", poolclass=pool.NullPool)
    try:
        return _heads(engine, name)
    finally:
        engine.dispose()


# --- backup --------------------------------------------------------------------------------------------


@dataclass
class _Manifest:
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    keys_in_backup: bool = False
    archive_in_backup: bool = False
    keys_from_settings: list[str] = field(default_factory=list)


def backup(to: Path, say: Say = _quiet, keep: int | None = None) -> Path:
    """Writes a new backup folder under `to`; answers its path. Only a complete backup gets its
    final name: an interrupted one is a `.partial-…` folder, never taken for a backup."""
    if keep is not None and keep < 1:
        raise BackupError("--keep 至少为 1", "--keep must be at least 1")
    to.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{NAME_PREFIX}{stamp}"
    if (to / name).exists():
        name += f"-{secrets.token_hex(2)}"
    work = to / f"{PARTIAL_PREFIX}{name}"
    work.mkdir()
    try:
        manifest = _collect(work, say)
        _write_manifest(work, manifest)
        final = to / name
        work.rename(final)
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, Exception) and not isinstance(exc, BackupError):
            # A server refusing or gone (the messages name user, host and bucket, never a secret).
            raise BackupError(
                "备份失败，未留下不完整的备份", "the backup failed; no partial backup is left", [_error(exc)]
            ) from exc
        raise
    if manifest.keys_from_settings:
        names = ", ".join(f"HAMP_{s.upper()}" for s in manifest.keys_from_settings)
        say(
            f"密钥来自配置（{names}），不在备份中：请另行备份保存它们的 Kubernetes Secret",
            f"keys from settings ({names}) are not in the backup: back up the Kubernetes Secrets holding them",
        )
    if keep is not None:
        for old in prune(to, keep):
            say(f"已删除旧备份 {old.name}", f"removed the old backup {old.name}")
    return final


def _collect(work: Path, say: Say) -> _Manifest:
    manifest = _Manifest()
    found = services()
    for service in found:
        manifest.services[service.name] = {"database": _backup_database(service, work, say)}
    # After the databases: objects are stored before the rows naming them (see the module's doc).
    for service in found:
        manifest.services[service.name]["objects"] = _backup_objects(service, work, manifest, say)
    _backup_var_files(HampSettings().var_dir, work, manifest, say)
    for service in found:
        manifest.services[service.name]["keys"] = _key_fingerprints(service, manifest)
        for setting in _SECRET_SETTINGS:
            if getattr(service.settings, setting) and setting not in manifest.keys_from_settings:
                manifest.keys_from_settings.append(setting)
    gateway = next((s for s in found if s.name == "gateway"), None)
    if gateway is not None and bool(getattr(gateway.settings, "signing_key_pem", None)):
        manifest.keys_from_settings.append("signing_key_pem")
    if not any(parts["database"] or parts["objects"] for parts in manifest.services.values()):
        raise BackupError(
            "没有找到任何数据：请检查 HAMP_VAR_DIR 与各服务的数据库设置",
            "found no data to back up: check HAMP_VAR_DIR and the services' database settings",
        )
    return manifest


def _backup_database(service: Service, work: Path, say: Say) -> dict[str, Any] | None:
    kind = service.kind
    kids: set[str] = set()
    if kind == "sqlite":
        source = service.sqlite_path
        if not source.is_file():
            say(f"{service.name}：没有数据库文件 {source}，跳过", f"{service.name}: no database file {source}, skipped")
            return None
        target = work / "databases" / f"{service.name}.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_snapshot(source, target)
        heads = _sqlite_heads(target, service.name)
    else:
        target = work / "databases" / f"{service.name}.sql"
        target.parent.mkdir(parents=True, exist_ok=True)
        _mysql_dump(service.url, target)
        engine = _mysql_engine(service.url)
        try:
            heads = _heads(engine, service.name)
        finally:
            engine.dispose()
    _digest(target, kids)
    say(
        f"{service.name}：数据库（{kind}，{target.stat().st_size} 字节）",
        f"{service.name}: database ({kind}, {target.stat().st_size} bytes)",
    )
    return {
        "kind": kind,
        "file": target.relative_to(work).as_posix(),
        "migration_heads": heads,
        "field_key_ids": sorted(kids),
    }


def _backup_objects(service: Service, work: Path, manifest: _Manifest, say: Say) -> dict[str, Any] | None:
    target = work / "objects" / service.name
    if not service.settings.storage_url:
        count = 0
        for path in _files_under(service.objects_dir):
            if path.name.startswith(".upload-"):  # an upload in progress (shared/storage.py)
                continue
            try:
                _copy(path, target / path.relative_to(service.objects_dir))
            except FileNotFoundError:  # deleted meanwhile
                continue
            count += 1
        if count:
            say(f"{service.name}：{count} 个对象文件", f"{service.name}: {count} object file(s)")
        return {"store": "directory"} if count else None
    store = _minio(service)
    client = store.client
    if not client.bucket_exists(store.bucket):
        return None
    count = 0
    for item in client.list_objects(store.bucket, recursive=True):
        try:
            # Whoever else may write to the bucket: a key like ../x must not land outside the backup.
            path = target / check_key(item.object_name)
        except StorageError as exc:
            raise BackupError(
                f"存储桶 {store.bucket} 中有非法的对象名",
                f"bucket {store.bucket} holds an invalid object name",
                [str(exc)],
            ) from exc
        stat = client.fget_object(store.bucket, item.object_name, str(path))
        manifest.content_types[path.relative_to(work).as_posix()] = stat.content_type or "application/octet-stream"
        count += 1
    say(
        f"{service.name}：MinIO 存储桶 {store.bucket}，{count} 个对象",
        f"{service.name}: MinIO bucket {store.bucket}, {count} object(s)",
    )
    return {"store": "minio", "bucket": store.bucket}


def _backup_var_files(var_dir: Path, work: Path, manifest: _Manifest, say: Say) -> None:
    for folder in ("keys", "archive"):
        source = var_dir / folder
        files = [p for p in _files_under(source) if not p.name.endswith(".tmp")]
        for path in files:
            _copy(path, work / folder / path.relative_to(source))
        if files:
            setattr(manifest, f"{folder}_in_backup", True)
            say(f"{source}：{len(files)} 个文件", f"{source}: {len(files)} file(s)")


def _key_fingerprints(service: Service, manifest: _Manifest) -> dict[str, Any]:
    """Fingerprints of the keys the service's data needs: the field keys its sealed values name,
    the index key, the audit key."""
    database = manifest.services[service.name]["database"]
    if database is None:
        return {}
    keys_dir = service.settings.var_dir / "keys"
    field_keys, index_key = _field_keys(service.settings, keys_dir)
    audit = _audit_key(service.settings, keys_dir)
    return {
        "field": {
            kid: _fingerprint(field_keys[kid]) if kid in field_keys else None for kid in database["field_key_ids"]
        },
        "index": _fingerprint(index_key) if index_key and database["field_key_ids"] else None,
        "audit": _fingerprint(audit) if audit else None,
    }


def _write_manifest(work: Path, manifest: _Manifest) -> None:
    files = []
    for path in _files_under(work):
        relative = path.relative_to(work).as_posix()
        size, sha = _digest(path)
        entry: dict[str, Any] = {"path": relative, "size": size, "sha256": sha}
        if relative in manifest.content_types:
            entry["content_type"] = manifest.content_types[relative]
        files.append(entry)
    try:
        version = package_metadata.version("hamp")
    except package_metadata.PackageNotFoundError:
        version = "unknown"
    document = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hamp_version": version,
        "services": manifest.services,
        "keys": {
            "in_backup": manifest.keys_in_backup,
            "from_settings": [f"HAMP_{s.upper()}" for s in manifest.keys_from_settings],
            "note": "Keys given in settings are not in the backup: back up the Kubernetes Secrets holding them.",
        },
        "archive_in_backup": manifest.archive_in_backup,
        "files": files,
    }
    path = work / MANIFEST
    with path.open("w") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())


def prune(to: Path, keep: int) -> list[Path]:
    """Removes complete backups under `to` beyond the newest `keep` (their names sort by time)."""
    complete = sorted(p for p in to.glob(f"{NAME_PREFIX}*") if (p / MANIFEST).is_file())
    old = complete[: max(len(complete) - keep, 0)]
    for path in old:
        shutil.rmtree(path)
    return old


# --- restore -------------------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        inside = sorted(p.name for p in source.glob(f"{NAME_PREFIX}*") if (p / MANIFEST).is_file())
        if inside:
            raise BackupError(
                f"{source} 是存放备份的目录，请指定其中一个备份（最新：{inside[-1]}）",
                f"{source} holds backups: name one of them (the newest: {source / inside[-1]})",
            )
        raise BackupError(f"{source} 不是备份（没有 {MANIFEST}）", f"{source} is not a backup (no {MANIFEST})")
    document: dict[str, Any] = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise BackupError(
            f"备份格式 {document.get('format')} 不受支持", f"backup format {document.get('format')} is not supported"
        )
    return document


def verify(source: Path, document: dict[str, Any]) -> list[str]:
    """Every file the manifest names, checked against its size and SHA-256: the problems found."""
    problems = []
    for entry in document["files"]:
        relative = Path(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            problems.append(f"{entry['path']}: 路径非法 / not a path inside the backup")
            continue
        path = source / relative
        if not path.is_file():
            problems.append(f"{entry['path']}: 缺失 / missing")
        elif _digest(path) != (entry["size"], entry["sha256"]):
            problems.append(f"{entry['path']}: 校验和不符（文件被改动或损坏） / checksum differs (altered or damaged)")
    return problems


def _known_revisions(name: str) -> set[str]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return set()
    versions = Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"
    found = set()
    for path in versions.glob("*.py"):
        match = _REVISION.search(path.read_text(encoding="utf-8"))
        if match:
            found.add(match.group(1))
    return found


@dataclass
class _Plan:
    """What a restore will write; `undo` removes what was written so far, newest first."""

    loads: list[tuple[Service, Path, bool]] = field(default_factory=list)  # MySQL: (service, dump, create database)
    uploads: list[tuple[Service, list[dict[str, Any]]]] = field(default_factory=list)
    # (target, the entries' path prefix when the target is a folder, None for one file, the entries)
    files: list[tuple[Path, str | None, list[dict[str, Any]]]] = field(default_factory=list)
    undo: list[Callable[[], None]] = field(default_factory=list)


def restore(source: Path, say: Say = _quiet) -> None:
    document = read_manifest(source)
    problems = verify(source, document)
    if problems:
        raise BackupError(
            "备份未通过校验，什么也没有写入", "the backup failed its checks; nothing was written", problems
        )
    by_path = {entry["path"]: entry for entry in document["files"]}
    plan, refusals = _plan(source, document, by_path)
    if refusals:
        raise BackupError("无法恢复，什么也没有写入", "cannot restore; nothing was written", refusals)
    try:
        _apply(source, plan, say)
    except BaseException as exc:
        for undo in reversed(plan.undo):
            try:
                undo()
            except Exception as failed:  # keep undoing the rest; say what stays behind
                say(f"撤销失败：{failed}", f"undoing failed: {failed}")
        if isinstance(exc, Exception) and not isinstance(exc, BackupError):
            # A server refusing or gone (the messages name user, host and bucket, never a secret).
            raise BackupError(
                "恢复失败，已写入的内容已撤销", "the restore failed; what it had written was removed", [_error(exc)]
            ) from exc
        raise


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[-2000:]


def _plan(source: Path, document: dict[str, Any], by_path: dict[str, Any]) -> tuple[_Plan, list[str]]:
    plan, refusals = _Plan(), []
    here = {service.name: service for service in services()}
    base = HampSettings()
    backup_keys = source / "keys"
    for name, parts in document["services"].items():
        service = here.get(name)
        if service is None:
            if parts.get("database") or parts.get("objects"):
                refusals.append(f"{name}: 本版本没有该服务 / this checkout has no such service")
            continue
        refusals += _plan_database(service, parts.get("database"), source, by_path, plan)
        refusals += _plan_objects(service, parts.get("objects"), by_path, plan)
        if parts.get("database"):
            keys_dir = backup_keys if document["keys"]["in_backup"] else service.settings.var_dir / "keys"
            refusals += _check_keys(service, parts["database"], parts.get("keys", {}), keys_dir)
    for folder, present in (("keys", document["keys"]["in_backup"]), ("archive", document["archive_in_backup"])):
        if present:
            target = base.var_dir / folder
            if _files_under(target):
                refusals.append(f"{target}: 已有文件 / already holds files")
            entries = [e for e in document["files"] if e["path"].startswith(f"{folder}/")]
            plan.files.append((target, f"{folder}/", entries))
    return plan, refusals


def _plan_database(
    service: Service, part: dict[str, Any] | None, source: Path, by_path: dict[str, Any], plan: _Plan
) -> list[str]:
    if part is None:
        return []
    name, refusals = service.name, []
    if part["kind"] != service.kind:
        return [
            f"{name}: 备份是 {part['kind']} 数据库，此处配置的是 {service.kind} / the backup holds a {part['kind']} "
            f"database, this environment configures {service.kind}"
        ]
    unknown = set(part["migration_heads"]) - _known_revisions(name)
    if unknown:
        refusals.append(
            f"{name}: 备份来自更新的版本（迁移 {', '.join(sorted(unknown))}） / the backup was made by a newer HAMP "
            f"(migration {', '.join(sorted(unknown))} unknown here): restore it with that version or a newer one"
        )
    dump = source / part["file"]
    if part["kind"] == "sqlite":
        target = service.sqlite_path
        if any(Path(f"{target}{suffix}").exists() for suffix in ("", "-wal", "-journal")):
            refusals.append(f"{name}: {target} 已存在 / already exists")
        plan.files.append((target, None, [by_path[part["file"]]]))
        return refusals
    tables = _mysql_tables(service.url)
    if tables:
        refusals.append(
            f"{name}: 数据库 {_shown(service.url)} 不是空的（{len(tables)} 张表） / the database is not empty "
            f"({len(tables)} tables)"
        )
    plan.loads.append((service, dump, tables is None))
    return refusals


def _plan_objects(service: Service, part: dict[str, Any] | None, by_path: dict[str, Any], plan: _Plan) -> list[str]:
    if part is None:
        return []
    name = service.name
    prefix = f"objects/{name}/"
    entries = [entry for path, entry in by_path.items() if path.startswith(prefix)]
    wanted = "minio" if service.settings.storage_url else "directory"
    if part["store"] != wanted:
        return [
            f"{name}: 备份的对象来自 {part['store']}，此处配置的是 {wanted} / the backup's objects come from "
            f"{part['store']}, this environment stores them in {wanted}"
        ]
    if wanted == "directory":
        if _files_under(service.objects_dir):
            return [f"{name}: {service.objects_dir} 已有文件 / already holds files"]
        plan.files.append((service.objects_dir, prefix, entries))
        return []
    store = _minio(service)
    if store.client.bucket_exists(store.bucket) and next(iter(store.client.list_objects(store.bucket)), None):
        return [f"{name}: MinIO 存储桶 {store.bucket} 不是空的 / the MinIO bucket {store.bucket} is not empty"]
    plan.uploads.append((service, entries))
    return []


def _check_keys(service: Service, database: dict[str, Any], recorded: dict[str, Any], keys_dir: Path) -> list[str]:
    """The keys the restored data needs are the ones this environment will use."""
    name, refusals = service.name, []
    field_keys, index_key = _field_keys(service.settings, keys_dir)
    for kid in database["field_key_ids"]:
        wanted = recorded.get("field", {}).get(kid)
        if kid not in field_keys:
            refusals.append(
                f"{name}: 数据用字段密钥 {kid!r} 加密，但未配置该密钥 / the data is encrypted with field key {kid!r}, "
                "which is not configured: restore the Secret holding the field keys first"
            )
        elif wanted and _fingerprint(field_keys[kid]) != wanted:
            refusals.append(
                f"{name}: 字段密钥 {kid!r} 与备份时的不同 / field key {kid!r} differs from the one the data was "
                "encrypted with"
            )
    wanted_index = recorded.get("index")
    if wanted_index and (index_key is None or _fingerprint(index_key) != wanted_index):
        refusals.append(
            f"{name}: 字段索引密钥与备份时的不同 / the field index key differs from the one the data was indexed with"
        )
    wanted_audit = recorded.get("audit")
    audit = _audit_key(service.settings, keys_dir)
    if wanted_audit and (audit is None or _fingerprint(audit) != wanted_audit):
        refusals.append(
            f"{name}: 审计密钥与备份时的不同，审计链将无法校验 / the audit key differs from the one the audit chain "
            "was sealed with: restore the Secret holding HAMP_AUDIT_KEY first"
        )
    return refusals


def _apply(source: Path, plan: _Plan, say: Say) -> None:
    for service, dump, create in plan.loads:
        url = service.url
        if create:
            _mysql_create(url)
        plan.undo.append(lambda url=url, create=create: _mysql_empty(url, drop_database=create))  # type: ignore[misc]
        _mysql_load(url, dump)
        say(f"{service.name}：数据库已导入 {_shown(url)}", f"{service.name}: database loaded into {_shown(url)}")
    for service, entries in plan.uploads:
        _upload(source, service, entries, plan)
        say(f"{service.name}：{len(entries)} 个对象已上传", f"{service.name}: {len(entries)} object(s) uploaded")
    # Staged beside each target (same file system), then renamed into place.
    token = secrets.token_hex(4)
    staged: list[tuple[Path, Path]] = []
    plan.undo.append(lambda: _remove_all(stage for _, stage in staged))
    for target, prefix, entries in plan.files:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = target.parent / f".restoring-{token}-{target.name}"
        staged.append((target, stage))
        if prefix is not None:
            stage.mkdir()
        for entry in entries:
            path = stage / entry["path"][len(prefix) :] if prefix is not None else stage
            # Checked before, and again as it is copied: what lands in var/ is what the manifest names.
            if _copy(source / entry["path"], path) != (entry["size"], entry["sha256"]):
                raise BackupError(f"复制 {entry['path']} 时内容改变", f"{entry['path']} changed while being copied")
    for target, stage in staged:
        if target.is_dir():
            _remove_empty(target)  # checked empty of files: only empty folders can be there
        stage.rename(target)
        plan.undo.append(lambda target=target: _remove(target))  # type: ignore[misc]
        say(f"已恢复 {target}", f"restored {target}")
    if staged:
        # Not a first start: `hamp up` must neither load demo data nor make a new superadmin password.
        marker = HampSettings().var_dir / ".initialized"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _remove_all(paths: Iterator[Path]) -> None:
    for path in paths:
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _remove_empty(folder: Path) -> None:
    for inner in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        inner.rmdir()
    folder.rmdir()


def _upload(source: Path, service: Service, entries: list[dict[str, Any]], plan: _Plan) -> None:
    store = _minio(service)
    client = store.client
    if not client.bucket_exists(store.bucket):
        client.make_bucket(store.bucket)
    prefix = f"objects/{service.name}/"
    for entry in entries:
        key = entry["path"][len(prefix) :]
        plan.undo.append(lambda key=key: client.remove_object(store.bucket, key))  # type: ignore[misc]
        client.fput_object(
            store.bucket,
            key,
            str(source / entry["path"]),
            content_type=entry.get("content_type", "application/octet-stream"),
            metadata={"sha256": entry["sha256"]},
        )
