"""One service per state folder: an OS lock that dies with its process, on every platform.

POSIX uses ``fcntl.flock``, Windows ``msvcrt.locking`` on the lock file's first byte; both
are released by the kernel when the process ends, so a killed service (SIGKILL, power
cut) never leaves a stale lock.  Who holds it is written to a separate file (``holder.json``)
because Windows does not let other processes read a locked byte range.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from fentid.errors import ServiceRunningError

LOCK_NAME, HOLDER_NAME = "service.lock", "holder.json"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def holder(state: Path) -> dict:
    """What the holder of the lock wrote about itself ({} when nothing readable)."""
    try:
        return json.loads((Path(state) / HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class InstanceLock:
    """The state folder's service lock.

    Parameters
    ----------
    state : Path
        The service's state folder (created when missing).
    """

    def __init__(self, state: Path):
        self.state = Path(state)
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`ServiceRunningError` naming the holder."""
        self.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o664)
        if not _try_lock(fd):
            os.close(fd)
            info = holder(self.state)
            who = (f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
                   if info else "holder unknown")
            raise ServiceRunningError(f"another watch service uses this state folder ({who})",
                                      self.state)
        self.fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = self.state / f".{HOLDER_NAME}.{os.getpid()}"
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, self.state / HOLDER_NAME)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def is_running(state: Path) -> bool:
    """True when some process holds the state folder's lock (tries it, releases at once)."""
    path = Path(state) / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)
