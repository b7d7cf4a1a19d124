"""Keep the server's data private to the account that runs it.

``broker.db`` holds restricted personal health records and ``exchange.db`` holds accounts,
hashed secrets and bills, so their directory is 0700 and every file in it 0600 — including
SQLite's ``-wal``, ``-shm`` and ``-journal`` files, which SQLite creates with the mode of
the database file (docs/adr/0104-private-data-files.md).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def use_private_umask() -> None:
    """Make every file this process creates from now on private (umask 077).

    Called by the server commands (``workbench serve``, ``broker``, ``seed``, ``up``).
    """
    os.umask(PRIVATE_UMASK)


def private_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and make it and the files directly in it private.

    The directory becomes 0700; regular files in it 0600 and subdirectories 0700
    (symbolic links are left alone). Returns the path.
    """
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    for child in path.iterdir():
        if child.is_symlink():
            continue
        if child.is_dir():
            child.chmod(PRIVATE_DIR_MODE)
        elif child.is_file():
            child.chmod(PRIVATE_FILE_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """Create ``path`` (empty) if missing and make it and its SQLite sidecars 0600.

    Creating a database file 0600 before SQLite opens it makes SQLite create the ``-wal``
    and ``-shm`` files 0600 too, whatever the umask. A new parent directory is made 0700.
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    for name in ("", *_SQLITE_SIDECARS):
        sibling = path.with_name(path.name + name)
        if sibling.is_file() and not sibling.is_symlink():
            sibling.chmod(PRIVATE_FILE_MODE)
    return path
