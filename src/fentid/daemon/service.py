"""The watch-folder service: events and rescans in, complete acquisitions to workers,
reports out, every step in the journal.

One loop in the main process owns the journal; observer threads only queue paths and
workers only identify.  An acquisition goes::

    found (event or rescan) -> seen -> stable for the settle time, complete for its format,
    not locked -> processing (a worker) -> report written atomically -> done
                                       \\-> failed (retry with backoff) / quarantined / deleted

The guarantees and where they come from:

- *Never a report on a partial file*: the completeness checks before a worker reads, the
  drivers' own IncompleteDataError, and the fingerprint compared before and after the read
  (in the worker) and again before the report is written (here).
- *Every acquisition once*: the journal row is committed ``done`` only after its report is
  on disk; a crash anywhere leaves ``processing`` (redone on restart: the report is replaced
  atomically, so redoing is harmless) or ``done`` (not redone).
- *The service keeps going*: every failure is a state with a reason; output and library
  problems retry forever with capped backoff, bad files are quarantined, worker crashes and
  hangs are retried then quarantined.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import logging.handlers
import os
import signal
import sqlite3
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from fentid.daemon import completeness, discovery, outputs
from fentid.daemon.config import Settings
from fentid.daemon.journal import NOTIFY_FAILED, NOTIFY_OK, Journal
from fentid.daemon.locking import InstanceLock, holder, is_running
from fentid.daemon.pool import (
    BAD_INPUT,
    CHANGED,
    CRASHED,
    GONE,
    INCOMPLETE,
    INTERNAL,
    LIBRARY,
    OK,
    TIMEOUT,
    Result,
    Task,
    WorkerPool,
)

JOURNAL_NAME, STATUS_NAME = "journal.sqlite", "status.json"
#: Longest sleep of the loop (s): bounds how late a result, event or stop is noticed.
TICK = 0.2
#: Seconds between status.json updates.
STATUS_EVERY = 2.0

log = logging.getLogger("fentid.watch")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def setup_logging(settings: Settings, quiet: bool = False) -> None:
    """Rotating log file (10 MB x 5) plus stderr (unless ``quiet``)."""
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    try:
        settings.log.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(settings.log, maxBytes=10 << 20,
                                                  backupCount=5, encoding="utf-8")
        fh.setFormatter(fmt)
        log.addHandler(fh)
    except OSError as exc:
        sys.stderr.write(f"fentid: warning: {settings.log}: cannot open the log file "
                         f"({exc.strerror or exc}); logging to stderr only\n")
    if not quiet:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        log.addHandler(sh)


@dataclass
class Waiting:
    """An acquisition being watched until it is complete."""

    row_id: int
    root: Path
    rel: str
    path: Path
    kind: str
    next_check: float = 0.0
    not_before: float = 0.0
    incomplete_since: float | None = None
    fp: discovery.Fingerprint | None = None
    reseen: bool = False  # a reported acquisition that changed: a new version if new content
    failures: int = 0     # output/library failures (not the file's fault: never quarantined)


class Service:
    """The watch-folder service (``fentid watch``)."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.labels = settings.labels()
        self.stopping = threading.Event()
        self.stability = completeness.Stability()
        self.waiting: dict[int, Waiting] = {}
        self.ready: deque[int] = deque()
        self.inflight: dict[int, tuple[Waiting, float]] = {}
        self.dirty: dict[tuple[Path, str], tuple[Path, str]] = {}
        self.left: list[tuple[str, str]] = []  # --once: (path, why) not reported
        self.journal: Journal | None = None
        self.pool: WorkerPool | None = None
        self.hooks = None
        self.archive = None
        self.daylog = outputs.DayLog(settings.out)
        self.library_path = ""
        self.library_version = None
        self.started = time.time()
        self._last_status = 0.0
        self._next_rescan = 0.0

    # --- lifecycle ---------------------------------------------------------------------
    def run(self) -> int:
        """Run until SIGINT/SIGTERM (or, with ``once``, until everything found is handled).

        Returns the exit code: 0, or 2 when ``once`` left acquisitions unreported.
        """
        from fentid.defaults import resolve_library

        lock = InstanceLock(self.s.state)
        lock.acquire()
        try:
            library, _default = resolve_library(self.s.library)
            self.library_path = str(library)
            self.archive = outputs.open_archive(self.s.archive)
            self.journal = Journal(self.s.state / JOURNAL_NAME)
            redo = self.journal.recover()
            log.info(f"fentid watch starting (pid {os.getpid()}): {len(self.s.folders)} "
                     f"folder(s) -> {self.s.out}, library {self.library_path}, "
                     f"{self.s.workers} worker(s), settle {self.s.settle:g} s"
                     + (f"; {redo} unfinished acquisition(s) from the last run will be redone"
                        if redo else ""))
            self._prepare_out()
            if self.s.on_report:
                self.hooks = outputs.Hooks(self.s.on_report, log=log.warning)
                for row in self.journal.unnotified():
                    self.hooks.submit(row["id"], Path(row["report_path"]),
                                      Path(row["text_path"]), row["path"], row["sha256"])
            self.pool = WorkerPool(self.s.workers, self.library_path, self.s.task_timeout,
                                   self.s.recycle_after, log=log.info)
            self.pool.start()
            self._install_signals()
            return self._loop()
        finally:
            self._shutdown()
            lock.release()

    def _prepare_out(self) -> None:
        try:
            self.s.out.mkdir(parents=True, exist_ok=True)
            removed = outputs.remove_stale_temps(self.s.out)
            if removed:
                log.info(f"removed {removed} temporary report file(s) left by a crash")
        except OSError as exc:
            log.error(f"output folder {self.s.out} not usable: {exc.strerror or exc}; "
                      "reports will be retried")

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def stop(signum, frame):
            self.stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if hasattr(signal, "SIGBREAK"):  # Windows console Ctrl+Break / service stop
            signal.signal(signal.SIGBREAK, stop)

    def stop(self) -> None:
        """Ask the loop to stop (thread-safe)."""
        self.stopping.set()

    def _loop(self) -> int:
        from fentid.daemon import watcher

        queue = watcher.EventQueue()
        observers = [] if self.s.once else watcher.start_observers(
            self.s.folders, queue, self.s.poll, log=log.info)
        try:
            self._rescan(time.monotonic())
            while not self.stopping.is_set():
                try:
                    self._step(queue)
                except sqlite3.Error as exc:
                    log.error(f"journal error ({exc}); resynchronising in 2 s")
                    time.sleep(2)
                    self._resync()
                if self.s.once and not (self.dirty or self.waiting or self.ready
                                        or self.inflight):
                    break
        finally:
            watcher.stop_observers(observers)
        self._drain_inflight()
        return self._once_summary() if self.s.once else 0

    def _step(self, queue) -> None:
        now = time.monotonic()
        for raw in queue.drain():
            self._event(Path(raw))
        if not self.s.once and now >= self._next_rescan:
            self._rescan(now)
        for key, (path, kind) in list(self.dirty.items()):
            del self.dirty[key]
            try:
                self._consider(key[0], path, kind, now)
            except OSError as exc:  # unreadable right now: the next rescan tries again
                log.warning(f"cannot look at {path}: {exc.strerror or exc}")
        queued = set(self.ready)
        for w in list(self.waiting.values()):
            if w.row_id not in queued and now >= w.next_check and now >= w.not_before:
                try:
                    self._judge(w, time.monotonic())
                except OSError as exc:
                    log.warning(f"cannot look at {w.path}: {exc.strerror or exc}")
                    w.next_check = now + max(1.0, self.s.settle)
        self._dispatch()
        for result in self.pool.collect(TICK):
            self._handle(result)
        self._poll_hooks()
        if time.monotonic() - self._last_status > STATUS_EVERY:
            self._write_status()

    def _drain_inflight(self) -> None:
        """Let identifications in flight finish (``stop_grace`` s), then stop the workers."""
        end = time.monotonic() + self.s.stop_grace
        if self.inflight:
            log.info(f"stopping: waiting up to {self.s.stop_grace:g} s for "
                     f"{len(self.inflight)} identification(s) in flight")
        while self.inflight and time.monotonic() < end:
            for result in self.pool.collect(TICK):
                self._handle(result)

    def _shutdown(self) -> None:
        if self.pool is not None:
            self.pool.stop(grace=5)
        if self.hooks is not None and self.journal is not None:
            for row_id, ok in self.hooks.stop(5):
                self._notified(row_id, ok)
        if self.journal is not None:
            with contextlib.suppress(sqlite3.Error):
                back = self.journal.recover()
                if back:
                    log.info(f"{back} identification(s) unfinished: redone on next start")
            self._write_status(stopped=True)
            self.journal.close()
        log.info("fentid watch stopped")

    # --- finding acquisitions ----------------------------------------------------------
    def _event(self, path: Path) -> None:
        for root in self.s.folders:
            if path == root or root in path.parents:
                found = discovery.acquisition_of(path, root, self.s.ignore)
                if found is not None:
                    self.dirty[(root, discovery.relative(found[0], root))] = found
                return

    def _rescan(self, now: float) -> None:
        self._next_rescan = now + self.s.rescan
        for root in self.s.folders:
            seen = set()
            for path, kind in discovery.walk(root, self.s.ignore):
                rel = discovery.relative(path, root)
                seen.add(rel)
                self.dirty[(root, rel)] = (path, kind)
            for row in self.journal.current_rows(str(root)):
                if row["rel"] not in seen and row["state"] in ("seen", "failed"):
                    self.dirty[(root, row["rel"])] = (Path(row["path"]), row["kind"])

    def _consider(self, root: Path, path: Path, kind: str, now: float) -> None:
        rel = discovery.relative(path, root)
        row = self.journal.current(str(root), rel)
        try:
            fp = discovery.fingerprint(path)
        except FileNotFoundError:
            if row is not None and row["state"] in ("seen", "failed"):
                self._final(row["id"], "deleted", "deleted before it was reported")
            return
        if row is None:
            row_id = self.journal.add(str(root), rel, str(path), kind, fp, time.time())
            log.info(f"found {rel}")
            self.waiting[row_id] = Waiting(row_id, root, rel, path, kind)
            return
        state = row["state"]
        if state == "processing" or row["id"] in self.waiting:
            return
        if state in ("done", "quarantined", "deleted"):
            if row["fingerprint"] == fp.digest:
                return
            self.waiting[row["id"]] = Waiting(row["id"], root, rel, path, kind, reseen=True)
            return
        # seen / failed: (re)start watching it (--once does not wait for retry times)
        not_before = 0.0 if self.s.once else self._mono(row["next_try"])
        self.waiting[row["id"]] = Waiting(row["id"], root, rel, path, kind,
                                          not_before=not_before)

    @staticmethod
    def _mono(wall: float | None) -> float:
        """A wall-clock time from the journal as a monotonic deadline."""
        if not wall:
            return 0.0
        return time.monotonic() + max(0.0, wall - time.time())

    def _judge(self, w: Waiting, now: float) -> None:
        """Stable? Complete? Unlocked? Then ready (or a new version, or still waiting)."""
        try:
            files = discovery.files_of(w.path)
            fp = discovery.fingerprint(w.path)
        except FileNotFoundError:
            self._forget(w.row_id)
            row = self.journal.get(w.row_id)
            if row is not None and row["state"] in ("seen", "failed"):
                self._final(w.row_id, "deleted", "deleted before it was reported")
            return
        stable_for = self.stability.observe(w.row_id, fp, now)
        if stable_for < self.s.settle:
            if stable_for == 0:
                w.incomplete_since = None
            w.next_check = now + max(0.05, self.s.settle - stable_for)
            return
        reason = completeness.format_incomplete(w.path, w.kind)
        if reason is None:
            holder_file = completeness.locked(w.path, files)
            if holder_file:
                reason = f"{holder_file} is locked by the program writing it"
        if reason is not None:
            self._still_incomplete(w, now, reason)
            return
        w.fp = fp
        if w.reseen:
            self._new_version(w, fp)
            return
        self.journal.update(w.row_id, size=fp.size, mtime=fp.mtime, fingerprint=fp.digest,
                            complete_at=time.time())
        self.ready.append(w.row_id)

    def _still_incomplete(self, w: Waiting, now: float, reason: str) -> None:
        if w.incomplete_since is None:
            w.incomplete_since = now
            log.info(f"waiting for {w.rel}: {reason}")
        if self.s.once:
            self._forget(w.row_id)
            self.journal.update(w.row_id, error=f"incomplete: {reason}")
            self.left.append((str(w.path), f"incomplete: {reason}"))
            return
        if w.reseen:  # a reported file being rewritten: wait, it is no new version yet
            w.next_check = now + max(1.0, self.s.settle)
            return
        if now - w.incomplete_since > self.s.give_up_after:
            self._forget(w.row_id)
            self._final(w.row_id, "quarantined", f"still incomplete after "
                        f"{self.s.give_up_after:g} s unchanged: {reason}")
            return
        w.next_check = now + min(60.0, max(1.0, self.s.settle))

    def _new_version(self, w: Waiting, fp) -> None:
        """A reported acquisition changed and is stable again: when its content changed
        (sha256), a new version row, ready at once; else only the new fingerprint."""
        from fentid.spectra.model import hash_source

        row = self.journal.get(w.row_id)
        try:
            sha = hash_source(w.path)
        except OSError:
            return  # gone or unreadable right now: the next event or rescan tells
        self._forget(w.row_id)
        if row["sha256"] and sha == row["sha256"]:
            self.journal.update(w.row_id, size=fp.size, mtime=fp.mtime, fingerprint=fp.digest)
            return
        new_id = self.journal.add(str(w.root), w.rel, str(w.path), w.kind, fp, time.time(),
                                  version=row["version"] + 1)
        log.info(f"{w.rel} replaced with new content: version {row['version'] + 1}")
        self.waiting[new_id] = Waiting(new_id, w.root, w.rel, w.path, w.kind, fp=fp)
        self.journal.update(new_id, complete_at=time.time())
        self.ready.append(new_id)

    def _forget(self, row_id: int) -> None:
        self.waiting.pop(row_id, None)
        self.stability.forget(row_id)
        with contextlib.suppress(ValueError):
            self.ready.remove(row_id)

    # --- identifying -------------------------------------------------------------------
    def _dispatch(self) -> None:
        while self.ready and self.pool.idle() and not self.stopping.is_set():
            row_id = self.ready.popleft()
            w = self.waiting.pop(row_id, None)
            row = self.journal.get(row_id)
            if w is None or row is None or not row["current"] or \
                    row["state"] not in ("seen", "failed"):
                continue
            self.stability.forget(row_id)
            self.journal.update(row_id, state="processing", attempts=row["attempts"] + 1,
                                started_at=time.time(), next_try=None)
            acquisition = {"path": str(w.path), "watched_folder": str(w.root),
                           "relative_path": w.rel, "version": row["version"], "kind": w.kind,
                           "detected_at": _iso(row["seen_at"]),
                           "complete_at": _iso(row["complete_at"])}
            self.pool.submit(Task(row_id, str(w.path), w.fp.digest, acquisition, self.s.top))
            self.inflight[row_id] = (w, time.monotonic())

    def _handle(self, result: Result) -> None:
        entry = self.inflight.pop(result.row_id, None)
        if entry is None:
            return  # a result for a row resynchronised away: it will be redone
        w, _started = entry
        row = self.journal.get(result.row_id)
        for text in result.warnings:
            log.info(f"{w.rel}: warning: {text}")
        if result.library_reopened:
            log.info(result.library_reopened)
        if result.library_version is not None:
            self.library_version = result.library_version
        kind = result.kind
        if kind == OK:
            self._report(w, row, result)
        elif kind == INCOMPLETE:
            now = time.monotonic()
            first = w.incomplete_since if w.incomplete_since is not None else now
            if now - first > self.s.give_up_after:
                self._final(w.row_id, "quarantined", f"still incomplete after "
                            f"{self.s.give_up_after:g} s unchanged: {result.error}")
            else:
                self._retry(w, row, f"incomplete: {result.error}", count=False)
                w.incomplete_since = first
        elif kind == CHANGED:
            self.journal.update(w.row_id, state="seen", error=None,
                                attempts=row["attempts"] - 1)
            w.incomplete_since = None
            self.waiting[w.row_id] = w
        elif kind == GONE:
            self._final(w.row_id, "deleted", result.error)
        elif kind == BAD_INPUT:
            self._final(w.row_id, "quarantined", result.error)
        elif kind == LIBRARY:
            self._retry(w, row, result.error, count=False)
        elif kind in (INTERNAL, CRASHED, TIMEOUT):
            if row["attempts"] >= self.s.max_attempts:
                self._final(w.row_id, "quarantined",
                            f"{result.error} ({row['attempts']} attempts)")
            else:
                self._retry(w, row, result.error)

    def _retry(self, w: Waiting, row, error: str, delay: float | None = None,
               count: bool = True) -> None:
        """``failed`` with a retry time (backoff); ``count=False`` when it is not the file's
        fault, so it never leads to quarantine."""
        attempts = row["attempts"] if count else max(0, row["attempts"] - 1)
        if not count:
            w.failures += 1
        n = attempts if count else w.failures
        wait = delay if delay is not None else min(self.s.retry_base * 2 ** max(0, n - 1),
                                                   self.s.retry_max)
        self.journal.update(w.row_id, state="failed", error=error, attempts=attempts,
                            next_try=time.time() + wait)
        log.warning(f"{w.rel}: {error}; retry in {wait:.0f} s")
        self._daylog("failed", w, error=error, retry_in_s=round(wait, 1))
        if self.s.once:
            self.left.append((str(w.path), error))
            return
        w.not_before = time.monotonic() + wait
        w.next_check = 0.0
        self.waiting[w.row_id] = w

    def _final(self, row_id: int, state: str, error: str) -> None:
        row = self.journal.get(row_id)
        self.journal.update(row_id, state=state, error=error, next_try=None)
        rel = row["rel"] if row else str(row_id)
        if state == "quarantined":
            log.warning(f"quarantined {rel}: {error}")
        else:
            log.info(f"{state} {rel}: {error}")
        if row is not None:
            self._daylog(state, None, row=row, error=error)
            if self.s.once:
                self.left.append((row["path"], error))

    def _report(self, w: Waiting, row, result: Result) -> None:
        try:
            fp = discovery.fingerprint(w.path)
        except FileNotFoundError:
            self._final(w.row_id, "deleted", "deleted while it was being identified")
            return
        if fp.digest != w.fp.digest:  # changed after the worker's last look
            self.journal.update(w.row_id, state="seen", error=None)
            self.waiting[w.row_id] = Waiting(w.row_id, w.root, w.rel, w.path, w.kind)
            return
        json_path, text_path = outputs.report_paths(self.s.out, self.labels[w.root], w.rel)
        try:
            self._keep_previous_version(row, json_path, text_path)
            outputs.publish(result.report_json, result.report_text, json_path, text_path,
                            archive=self.archive, source=str(w.path))
        except OSError as exc:
            self._retry(w, row, f"cannot write the report {json_path}: "
                        f"{exc.strerror or exc}", count=False)
            return
        except Exception as exc:  # noqa: BLE001 - the case archive failing
            self._retry(w, row, f"archive failed: {type(exc).__name__}: {exc}", count=False)
            return
        notified = 0 if self.hooks is not None else NOTIFY_OK
        self.journal.update(w.row_id, state="done", sha256=result.sha256,
                            report_path=str(json_path), text_path=str(text_path),
                            library_path=result.library_path,
                            library_version=result.library_version,
                            library_checksum=result.library_checksum, done_at=time.time(),
                            error=None, next_try=None, notified=notified)
        counts = {k: v for k, v in result.summary.get("counts", {}).items() if v}
        log.info(f"reported {w.rel} (version {row['version']}, library version "
                 f"{result.library_version}): {result.summary.get('components', 0)} "
                 f"component(s) {counts} in {result.seconds:.1f} s")
        self._daylog("report", w, row=row, report=str(json_path), sha256=result.sha256,
                     library_version=result.library_version,
                     identified=result.summary.get("identified", []), counts=counts)
        if self.hooks is not None:
            self.hooks.submit(w.row_id, json_path, text_path, str(w.path), result.sha256)

    def _keep_previous_version(self, row, json_path: Path, text_path: Path) -> None:
        """Before version N's report replaces N-1's, give N-1's its versioned names (the
        journal first, so a crash between the two is repaired by redoing)."""
        if row["version"] <= 1:
            return
        prev = self.journal.db.execute(
            "SELECT * FROM acquisitions WHERE root = ? AND rel = ? AND version < ? AND "
            "state = 'done' ORDER BY version DESC LIMIT 1",
            (row["root"], row["rel"], row["version"])).fetchone()
        if prev is None or prev["report_path"] != str(json_path):
            return
        kept = (outputs.versioned(json_path, prev["version"]),
                outputs.versioned(text_path, prev["version"]))
        self.journal.update(prev["id"], report_path=str(kept[0]), text_path=str(kept[1]))
        outputs.keep_previous(json_path, text_path, row["version"], prev["version"])

    def _daylog(self, event: str, w: Waiting | None, row=None, **fields) -> None:
        rel = w.rel if w else row["rel"]
        root = str(w.root) if w else row["root"]
        path = str(w.path) if w else row["path"]
        version = row["version"] if row is not None else None
        try:
            self.daylog.write(event, path=path, watched_folder=root, relative_path=rel,
                              version=version, **fields)
        except OSError as exc:
            log.warning(f"cannot write the day log in {self.s.out}: {exc.strerror or exc}")

    def _poll_hooks(self) -> None:
        if self.hooks is None:
            return
        for row_id, ok in self.hooks.poll():
            self._notified(row_id, ok)

    def _notified(self, row_id: int, ok: bool) -> None:
        self.journal.update(row_id, notified=NOTIFY_OK if ok else NOTIFY_FAILED)

    def _resync(self) -> None:
        """After a journal error: forget what memory says, redo from the journal."""
        self.waiting.clear()
        self.ready.clear()
        self.dirty.clear()
        with contextlib.suppress(sqlite3.Error):
            busy = list(self.inflight)
            marks = ", ".join("?" for _ in busy) or "NULL"
            self.journal.db.execute(
                f"UPDATE acquisitions SET state = 'seen' WHERE state = 'processing' "
                f"AND id NOT IN ({marks})", busy)
        self._next_rescan = 0.0

    # --- status ------------------------------------------------------------------------
    def _write_status(self, stopped: bool = False) -> None:
        self._last_status = time.monotonic()
        now = time.monotonic()
        busy = [{"path": str(w.path), "for_s": round(now - t, 1)}
                for w, t in self.inflight.values()]
        status = {"pid": os.getpid(), "started": _iso(self.started), "heartbeat": time.time(),
                  "stopped": stopped, "folders": [str(f) for f in self.s.folders],
                  "out": str(self.s.out), "library": self.library_path,
                  "library_version": self.library_version,
                  "workers": self.pool.pids() if self.pool and not stopped else [],
                  "waiting": len(self.waiting), "ready": len(self.ready), "in_flight": busy}
        path = self.s.state / STATUS_NAME
        tmp = path.with_name(f".{STATUS_NAME}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(status, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning(f"cannot write {path}: {exc.strerror or exc}")

    def _once_summary(self) -> int:
        counts = self.journal.counts()
        log.info(f"done: {counts['done']} reported, {counts['quarantined']} quarantined, "
                 f"{len(self.left)} left")
        for path, why in self.left:
            sys.stderr.write(f"fentid: error: {path}: {' '.join(why.split())}\n")
        return 2 if self.left else 0


def status(state: Path) -> dict:
    """What ``fentid watch --status`` shows for the service of state folder ``state``:
    running?, counts, in flight, retrying, last errors."""
    from fentid.errors import FentidError

    state = Path(state)
    journal_path = state / JOURNAL_NAME
    if not journal_path.exists():
        raise FentidError("no journal here: the service has not run with these settings",
                          journal_path)
    running = is_running(state)
    try:
        info = json.loads((state / STATUS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    journal = Journal(journal_path, readonly=True)
    try:
        counts = journal.counts()
        processing = [{"path": r["path"], "since": _iso(r["started_at"]),
                       "attempts": r["attempts"]} for r in journal.in_states("processing")]
        retry = [{"path": r["path"], "next_try": _iso(r["next_try"]), "error": r["error"]}
                 for r in journal.in_states("failed")]
        errors = [{"path": r["path"], "state": r["state"], "when": _iso(r["updated_at"]),
                   "error": r["error"]} for r in journal.last_errors(10)]
    finally:
        journal.close()
    who = holder(state) if running else {}
    return {"running": running, "pid": who.get("pid"), "since": who.get("since"),
            "heartbeat_age_s": round(time.time() - info["heartbeat"], 1)
            if running and info.get("heartbeat") else None,
            "journal": str(journal_path), "counts": counts,
            "queue": counts["seen"] + counts["failed"], "in_flight": processing,
            "retrying": retry, "last_errors": errors,
            "library": info.get("library"), "library_version": info.get("library_version")}


def format_status(report: dict) -> str:
    c = report["counts"]
    lines = []
    if report["running"]:
        beat = report["heartbeat_age_s"]
        lines.append(f"fentid watch: running (pid {report['pid']}, since {report['since']}"
                     + (f", last heartbeat {beat:g} s ago" if beat is not None else "") + ")")
    else:
        lines.append("fentid watch: not running")
    lines.append(f"journal: {report['journal']}")
    if report.get("library"):
        lines.append(f"library: {report['library']} (version {report['library_version']})")
    lines.append(f"queue: {report['queue']} ({c['seen']} waiting, {c['failed']} failed and "
                 "retrying)")
    lines.append(f"in flight: {len(report['in_flight'])}")
    for p in report["in_flight"]:
        lines.append(f"  {p['path']} (since {p['since']}, attempt {p['attempts']})")
    lines.append(f"done: {c['done']}, quarantined: {c['quarantined']}, failed: {c['failed']}, "
                 f"deleted: {c['deleted']}")
    if report["last_errors"]:
        lines.append("last errors:")
        for e in report["last_errors"]:
            lines.append(f"  {e['when']} {e['state']:<11} {e['path']}: {e['error']}")
    return "\n".join(lines) + "\n"
