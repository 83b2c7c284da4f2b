"""One writer at a time, and changes that appear all at once or not at all.

A writer takes an exclusive ``fcntl.flock`` on ``LIB.lock`` beside the library (the kernel
drops it when the process dies, so a killed writer never leaves a stale lock), copies the
library to a temporary file in the same folder, edits the copy, ``fsync``s it and
``os.replace``s it over the library, then ``fsync``s the folder.  Readers that opened the
library before keep reading the old inode; readers that open after see the new file; nobody
ever sees a half-written one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import time
from pathlib import Path

from fentid.errors import LibraryError, LibraryLockedError

TMP_MARK = ".fentid-tmp-"


def lock_path(path: Path) -> Path:
    """The lock file of library ``path`` (``LIB.lock`` beside it)."""
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike):
    """Hold the library's writer lock for the duration of the ``with`` block.

    Raises
    ------
    LibraryLockedError
        When another process holds it; the message names its pid, host and start time.
    """
    path = Path(path)
    lpath = lock_path(path)
    try:
        fd = os.open(lpath, os.O_RDWR | os.O_CREAT, 0o664)
    except OSError as exc:
        raise LibraryError(f"cannot create lock file {lpath}: {exc.strerror}", path) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LibraryLockedError(
                f"another writer holds the library lock ({_holder(fd)}); "
                f"wait for it to finish, or check that process", path) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        # closing the descriptor releases the flock
        os.close(fd)


def _holder(fd: int) -> str:
    """Who holds the lock, as written in the lock file by the holder."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"


def temp_path(path: Path) -> Path:
    """A fresh temporary file name in the library's folder (same filesystem for os.replace)."""
    return path.with_name(f"{TMP_MARK}{path.name}.{os.getpid()}.{time.monotonic_ns()}")


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temporary copies left by writers that died (call only while holding the lock)."""
    removed = []
    for stale in path.parent.glob(f"{TMP_MARK}{path.name}.*"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed


def copy_for_edit(path: Path, tmp: Path) -> None:
    """Copy the library to ``tmp`` (kernel-side copy: copy_file_range/sendfile)."""
    shutil.copyfile(path, tmp)


def fsync_path(path: Path) -> None:
    """Flush a file's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, path: Path) -> None:
    """Durably replace ``path`` by ``tmp``: fsync the file, rename, fsync the folder."""
    fsync_path(tmp)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
