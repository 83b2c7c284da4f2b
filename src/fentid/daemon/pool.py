"""Worker processes: each opens the library once, keeps it, and identifies one acquisition
at a time through the public API (``fentid.identify(path, library=lib)``).

Why not ``concurrent.futures.ProcessPoolExecutor``: one crashed worker breaks that whole
pool and does not say which task killed it; here each worker has its own pipe, so the
service knows which acquisition a dead or hung worker was reading (it is retried, and
quarantined when it keeps killing workers), kills a worker past ``task_timeout`` and
starts a fresh one.  Workers are started with ``spawn`` on every platform (no fork of a
process that runs observer threads and SQLite; the same behaviour as on Windows).

Library updates: before each task a worker compares the library file's identity (inode,
size, mtime) with the one it opened; a curator's update replaces the file atomically (new
inode), so the worker opens the new file (the old one stays readable until then) and every
report names the library version it used.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import traceback
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

#: Result kinds: what the service does with each (see fentid.daemon.service).
OK, INCOMPLETE, BAD_INPUT, CHANGED, GONE, LIBRARY, INTERNAL, CRASHED, TIMEOUT = (
    "ok", "incomplete", "bad_input", "changed", "gone", "library", "internal", "crashed",
    "timeout")


@dataclass
class Task:
    """One identification, sent to a worker (picklable)."""

    row_id: int
    path: str
    fingerprint: str
    acquisition: dict
    top: int = 10


@dataclass
class Result:
    """What a worker sends back."""

    row_id: int
    kind: str
    error: str = ""
    report_json: str = ""
    report_text: str = ""
    sha256: str = ""
    library_path: str = ""
    library_version: int | None = None
    library_checksum: str = ""
    library_reopened: str = ""
    summary: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    worker: int = 0


# --- inside a worker -------------------------------------------------------------------

class _Library:
    """The open library of a worker, reopened when the file is replaced."""

    def __init__(self, path: str):
        self.path = path
        self.searcher = None
        self.identity = None

    @staticmethod
    def _identity(path: str):
        st = os.stat(path)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def current(self):
        """The open searcher (reopened first when the file changed); returns
        ``(searcher, note)`` where ``note`` says what changed ('' when nothing)."""
        import fentid

        identity = self._identity(self.path)
        if self.searcher is not None and identity == self.identity:
            return self.searcher, ""
        old = self.searcher
        for attempt in range(3):
            try:
                new = fentid.open_library(self.path)
                break
            except Exception:  # the file may be mid-replacement: retry twice
                if attempt == 2:
                    raise
                time.sleep(0.5)
                identity = self._identity(self.path)
        note = ""
        if old is not None:
            note = (f"library {self.path} replaced: version {old.library_version} -> "
                    f"{new.library_version} (checksum {new.checksum[:12]})")
            old.close()
        self.searcher, self.identity = new, identity
        return new, note


def _jsonable(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _reason(exc, path: Path) -> str:
    """An error's message, with the file it names when that is not the acquisition itself
    (``fid``, ``MSD1.MS`` inside a folder)."""
    if exc.path is None or Path(exc.path) == path:
        return exc.message
    try:
        return f"{Path(exc.path).relative_to(path).as_posix()}: {exc.message}"
    except ValueError:
        return str(exc)


def _identify(task: Task, lib: _Library) -> Result:
    import fentid
    from fentid.daemon.discovery import fingerprint
    from fentid.errors import FentidError, IncompleteDataError, LibraryError

    path = Path(task.path)
    result = Result(task.row_id, OK, worker=os.getpid())
    try:
        before = fingerprint(path)
    except FileNotFoundError:
        return Result(task.row_id, GONE, "deleted before it was read", worker=os.getpid())
    if before.digest != task.fingerprint:
        return Result(task.row_id, CHANGED, "changed since it was judged complete",
                      worker=os.getpid())
    try:
        searcher, result.library_reopened = lib.current()
    except (FentidError, OSError) as exc:
        return Result(task.row_id, LIBRARY, f"library cannot be opened: {exc}",
                      worker=os.getpid())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = fentid.identify(path, library=searcher, top=task.top)
        except IncompleteDataError as exc:
            result.kind, result.error = INCOMPLETE, _reason(exc, path)
        except LibraryError as exc:
            result.kind, result.error = LIBRARY, str(exc)
        except FentidError as exc:
            result.kind, result.error = BAD_INPUT, _reason(exc, path)
        except OSError as exc:
            result.kind = GONE if not path.exists() else INTERNAL
            result.error = f"{type(exc).__name__}: {exc}"
    result.warnings = [" ".join(str(w.message).split()) for w in caught][:50]
    try:
        after = fingerprint(path)
    except FileNotFoundError:
        return Result(task.row_id, GONE, "deleted while it was being identified",
                      worker=os.getpid())
    if after.digest != before.digest:
        return Result(task.row_id, CHANGED, "changed while it was being identified",
                      worker=os.getpid())
    if result.kind != OK:
        return result
    report_dict = report.to_dict()
    sha = report.samples[0].sha256 if report.samples else ""
    acquisition = {**task.acquisition, "sha256": sha,
                   "reported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    report_dict["acquisition"] = acquisition
    result.report_json = json.dumps(report_dict, indent=2, default=_jsonable) + "\n"
    header = (f"Acquisition: {acquisition['relative_path']} (version {acquisition['version']}) "
              f"in {acquisition['watched_folder']}\n")
    result.report_text = header + report.to_text()
    result.sha256 = sha
    result.library_path = report.library.path
    result.library_version = report.library.library_version
    result.library_checksum = report.library.checksum
    result.summary = {"components": len(report.components), "counts": report.counts(),
                      "identified": report.identified()}
    return result


def worker_main(conn, library_path: str) -> None:
    """A worker's life: open the library, then identify whatever arrives on ``conn``."""
    # Ctrl+C reaches the whole console process group: the service decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lib = _Library(library_path)
    try:
        # import the processing stack now, not during the first acquisition's latency
        import fentid.components
        import fentid.pipeline  # noqa: F401

        searcher, _ = lib.current()
        conn.send(("ready", os.getpid(), searcher.library_version))
    except Exception as exc:  # noqa: BLE001 - reported to the service, which keeps going
        conn.send(("ready", os.getpid(), f"library cannot be opened: {exc}"))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break  # the service is gone
        if task is None:
            break
        start = time.monotonic()
        try:
            result = _identify(task, lib)
        except Exception as exc:  # noqa: BLE001 - any bug becomes an 'internal' result
            tb = traceback.format_exc(limit=3)
            result = Result(task.row_id, INTERNAL, f"{type(exc).__name__}: {exc} | "
                            f"{' '.join(tb.split())[-400:]}", worker=os.getpid())
        result.seconds = time.monotonic() - start
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            break


# --- in the service --------------------------------------------------------------------

@dataclass
class _Worker:
    proc: multiprocessing.Process
    conn: object
    task: Task | None = None
    started: float = 0.0
    done: int = 0
    ready: bool = False


class WorkerPool:
    """``n`` worker processes identifying one task each at a time.

    Parameters
    ----------
    n : int
        Number of workers.
    library_path : str
        The library file every worker opens.
    task_timeout : float
        Seconds before a busy worker is killed (its task reported as TIMEOUT).
    recycle_after : int
        Replace a worker after this many tasks (0: never).
    log : callable(str)
        Where the pool reports worker starts, deaths and library changes.
    """

    def __init__(self, n: int, library_path: str, task_timeout: float = 3600.0,
                 recycle_after: int = 0, log=print):
        self.n, self.library_path = n, library_path
        self.task_timeout, self.recycle_after, self.log = task_timeout, recycle_after, log
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []

    def start(self) -> None:
        while len(self.workers) < self.n:
            self.workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=worker_main, args=(child, self.library_path),
                                name="fentid-watch-worker", daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def idle(self) -> int:
        """Workers free for a task (started ones; a starting worker queues its first)."""
        return sum(1 for w in self.workers if w.task is None)

    def busy(self) -> list[Task]:
        return [w.task for w in self.workers if w.task is not None]

    def submit(self, task: Task) -> None:
        worker = next(w for w in self.workers if w.task is None)
        worker.task, worker.started = task, time.monotonic()
        worker.conn.send(task)

    def _replace(self, worker: _Worker) -> None:
        try:
            worker.conn.close()
        except OSError:
            pass
        if worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(5)
        self.workers[self.workers.index(worker)] = self._spawn()

    def collect(self, timeout: float) -> list[Result]:
        """Results that arrive within ``timeout`` s (dead and hung workers' tasks included)."""
        out: list[Result] = []
        waitables = {}
        for w in self.workers:
            waitables[w.conn] = w
            waitables[w.proc.sentinel] = w
        try:
            ready = wait(list(waitables), timeout=timeout)
        except OSError:
            ready = []
        handled = set()
        for obj in ready:
            w = waitables[obj]
            if id(w) in handled:
                continue
            handled.add(id(w))
            self._read(w, out)
        now = time.monotonic()
        for w in list(self.workers):
            if w.task is not None and now - w.started > self.task_timeout:
                task = w.task
                self.log(f"worker {w.proc.pid} took longer than {self.task_timeout:.0f} s on "
                         f"{task.path}: killed")
                out.append(Result(task.row_id, TIMEOUT, f"identification took longer than "
                                  f"{self.task_timeout:.0f} s (worker killed)",
                                  worker=w.proc.pid or 0))
                self._replace(w)
        return out

    def _read(self, w: _Worker, out: list[Result]) -> None:
        while True:
            try:
                if not w.conn.poll():
                    break
                msg = w.conn.recv()
            except (EOFError, OSError):
                msg = None
                break
            if isinstance(msg, tuple) and msg and msg[0] == "ready":
                w.ready = True
                self.log(f"worker {msg[1]} ready (library version {msg[2]})")
                continue
            if isinstance(msg, Result):
                w.task = None
                w.done += 1
                out.append(msg)
                if self.recycle_after and w.done >= self.recycle_after:
                    self._retire(w)
                    return
        if not w.proc.is_alive():
            code = w.proc.exitcode
            if w.task is not None:
                task = w.task
                self.log(f"worker {w.proc.pid} died (exit code {code}) while reading "
                         f"{task.path}")
                out.append(Result(task.row_id, CRASHED, f"the worker reading it died "
                                  f"(exit code {code})", worker=w.proc.pid or 0))
            else:
                self.log(f"worker {w.proc.pid} died (exit code {code}); starting another")
            self._replace(w)

    def _retire(self, w: _Worker) -> None:
        try:
            w.conn.send(None)
        except OSError:
            pass
        w.proc.join(10)
        self._replace(w)

    def stop(self, grace: float = 10.0) -> None:
        """Ask idle workers to leave, give busy ones ``grace`` s, then kill what is left."""
        for w in self.workers:
            if w.task is None:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        end = time.monotonic() + grace
        for w in self.workers:
            w.proc.join(max(0.0, end - time.monotonic()))
        for w in self.workers:
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(5)
            try:
                w.conn.close()
            except OSError:
                pass
        self.workers = []

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers if w.proc.pid]
