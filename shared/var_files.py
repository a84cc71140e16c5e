"""Everything the platform writes under var/ is readable by its own user only.

The embedded profile keeps patient data and password hashes in var/*.db, personal data in
objects and archives, and keys in var/keys; a world-readable file there is a leak to every
other account on the machine. Two measures cover it:

- the process umask is 0o077, set once at start (`hamp` and every `create_app`), so whatever
  anything creates later — SQLite's -wal/-shm files, log rotations, objects — is born 0600/0700
  without each writer having to remember;
- at start the files and folders already under var/ (an older install) are tightened to
  0600/0700.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import time
from pathlib import Path

log = logging.getLogger("hamp.var")

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_umask() -> None:
    """Files and folders this process creates from now on are its user's only."""
    os.umask(PRIVATE_UMASK)


def tighten(var_dir: Path) -> int:
    """Owner-only modes on var_dir and everything under it (symlinks are left alone: what they
    point at is not ours to change); answers how many were changed."""
    if not var_dir.is_dir() or var_dir.is_symlink():
        return 0
    changed = _chmod(var_dir, DIR_MODE)
    for folder, dirs, files in os.walk(var_dir):
        for name in dirs + files:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            changed += _chmod(path, DIR_MODE if path.is_dir() else FILE_MODE)
    if changed:
        log.warning("made %d file(s) and folder(s) under %s readable by their owner only", changed, var_dir)
    return changed


def _chmod(path: Path, mode: int) -> int:
    try:
        current = stat.S_IMODE(path.lstat().st_mode)
        # Keep the owner's bits (an executable stays executable for its owner); drop the rest.
        wanted = (current & 0o700) | (mode & 0o700)
        if current == wanted:
            return 0
        path.chmod(wanted)
        return 1
    except FileNotFoundError:  # removed meanwhile (a rotated log, a -wal file)
        return 0
    except PermissionError:
        log.warning("cannot restrict %s: it belongs to another user", path)
        return 0


def local_secret(var_dir: Path, name: str) -> str:
    """`var/keys/<name>`: a random secret every process of this embedded platform shares, made by
    whichever needs it first (O_EXCL: two starting together agree on one)."""
    path = var_dir / "keys" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        # Another process created it a moment ago and may still be writing.
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(f"{path} stays empty") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
