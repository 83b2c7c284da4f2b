"""File-system events in, paths queued: watchdog's observers, nothing heavy in the callback.

Each watched folder gets watchdog's native observer (inotify, ReadDirectoryChangesW,
FSEvents) unless it is on a network share, where those miss changes made by other
machines: SMB/CIFS and NFS mounts (``/proc/mounts`` on Linux; on Windows a UNC path or a
mapped network drive, ``GetDriveTypeW`` = DRIVE_REMOTE) get the PollingObserver, as does
every folder when ``--poll SECONDS`` is given.  A native observer that cannot start (e.g.
the inotify watch limit) falls back to polling.  Events only put the changed path in a
queue; the service's loop maps paths to acquisitions and judges them.  The periodic full
rescan (in the service) catches anything the observers missed.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

#: File systems on which native change notification misses other machines' writes.
NETWORK_FS = frozenset({"cifs", "smb", "smb2", "smb3", "smbfs", "nfs", "nfs4", "afs",
                        "fuse.sshfs", "9p", "davfs", "fuse.rclone", "ncpfs"})


class EventQueue:
    """Thread-safe set of changed paths, with an event that wakes the service."""

    def __init__(self):
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self.wake = threading.Event()

    def put(self, path: str) -> None:
        with self._lock:
            self._paths.add(path)
        self.wake.set()

    def drain(self) -> list[str]:
        with self._lock:
            paths, self._paths = self._paths, set()
        self.wake.clear()
        return sorted(paths)


def _handler(queue: EventQueue):
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        """watchdog callback: queue the paths an event names (nothing else)."""

        def on_any_event(self, event):
            if event.event_type in ("opened", "closed_no_write"):
                return
            queue.put(os.fsdecode(event.src_path))
            dest = getattr(event, "dest_path", "")
            if dest:
                queue.put(os.fsdecode(dest))

    return Handler()


def filesystem_type(path: Path, mounts: str | None = None) -> str | None:
    """The file-system type of the mount holding ``path`` (Linux), else None.

    ``mounts`` is the text of ``/proc/mounts`` (read when not given).
    """
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return None
    lines = mounts.splitlines()
    best, fstype = "", None
    target = str(Path(path).resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, parts[2]
    return fstype


def is_network_share(path: Path, mounts: str | None = None) -> bool:
    """True when ``path`` is on SMB/CIFS, NFS or another network file system.

    ``mounts`` is the text of ``/proc/mounts`` (Linux; read when not given).
    """
    if sys.platform == "win32":
        text = str(path)
        if text.startswith(("\\\\", "//")):
            return True
        import ctypes

        drive = os.path.splitdrive(os.path.abspath(text))[0] + "\\"
        return ctypes.windll.kernel32.GetDriveTypeW(drive) == 4  # DRIVE_REMOTE
    fstype = filesystem_type(path, mounts)
    return fstype is not None and fstype.lower() in NETWORK_FS


def start_observers(folders, queue: EventQueue, poll: float | None, log=print) -> list:
    """Start one observer per folder; returns them (call :func:`stop_observers`)."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    handler = _handler(queue)
    observers = []
    for folder in folders:
        polling = poll is not None or is_network_share(folder)
        interval = poll if poll is not None else 5.0
        observer = PollingObserver(timeout=interval) if polling else Observer()
        try:
            observer.schedule(handler, str(folder), recursive=True)
            observer.start()
        except OSError as exc:
            log(f"native file events unavailable for {folder} ({exc}); polling every "
                f"{interval:g} s instead")
            observer = PollingObserver(timeout=interval)
            observer.schedule(handler, str(folder), recursive=True)
            observer.start()
            polling = True
        how = f"polling every {interval:g} s" if polling else "native events"
        log(f"watching {folder} ({how})")
        observers.append(observer)
    return observers


def stop_observers(observers) -> None:
    for observer in observers:
        observer.stop()
    for observer in observers:
        observer.join(10)
