"""Files the CA writes, with their modes set explicitly, whatever the process umask.

Two kinds (docs/architecture.md, "Threat model and limits"):

* **private** — anything with personal data (152-ФЗ) or that only the operator reads: the
  register, attestation records, issued subscriber certificates (their subject carries СНИЛС,
  ИНН), the outbox: files 0600, directories 0700;
* **public** — what a web server must read: published CRLs and the CA certificates: files 0644
  (directories the CA creates for them 0755).

The mode is applied with ``fchmod`` on the open descriptor, not left to ``open``'s mode (which
the umask narrows or, with umask 0, would not widen): 0600 under umask 022 and 0644 under umask
077 alike. A file is never overwritten unless the caller says so (``overwrite=True``, the CLI's
``--force``); an overwrite replaces the file atomically (temporary file, rename).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from atlas_ca.errors import InvalidInput

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PUBLIC_FILE = 0o644
PUBLIC_DIR = 0o755


class FileExists(InvalidInput):
    """An output file exists and the command was not told to overwrite it (exit 2)."""


def make_directory(path: Path, mode: int = PRIVATE_DIR) -> None:
    """Create ``path`` and its missing parents with ``mode`` (existing ones are left as they
    are: the operator chose them)."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode)
            os.chmod(directory, mode)


def write_file(path: Path, data: bytes, *, mode: int, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` with ``mode``. Without ``overwrite`` an existing file is
    refused (:class:`FileExists`) and nothing is written; with it, the file is replaced
    atomically. Missing parent directories are created 0700 (0755 for public files)."""
    path = Path(path)
    make_directory(path.parent, PUBLIC_DIR if mode & 0o044 else PRIVATE_DIR)
    if not overwrite:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise FileExists(
                f"{_shown(path)} exists; nothing was written (use --force to overwrite it)",
                path=str(path),
            ) from None
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise
        os.close(fd)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (for a database file that a
    driver then opens: SQLite gives its -wal and -shm files the database file's mode)."""
    path = Path(path)
    make_directory(path.parent, PRIVATE_DIR)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _shown(path: Path, limit: int = 200) -> str:
    text = str(path)
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "PUBLIC_DIR",
    "PUBLIC_FILE",
    "FileExists",
    "create_private_file",
    "make_directory",
    "write_file",
]
