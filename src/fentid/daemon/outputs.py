"""What the service writes: reports (atomically), the JSONL day log, the on-report command.

Reports
    ``OUT/<relative path>.fentid.json`` (the ``fentid identify --json`` report plus an
    ``acquisition`` block: watched folder, relative path, version, sha256, times) and
    ``.fentid.txt`` (the text report under one line naming the acquisition).  With several
    watched folders each gets a sub-folder of OUT named after it.  Each file is written to a
    temporary file in the same folder, flushed and fsync'ed, then renamed over the old one
    (``os.replace``: atomic on POSIX and on Windows within a volume) and the folder is
    fsync'ed (POSIX); a reader never sees half a report, and a crash leaves the old one or
    the new one.  When a newer version of an acquisition is reported, the older version's
    pair is kept beside it as ``.fentid.v<N>.json`` / ``.txt``.
Day log
    ``OUT/fentid-watch-YYYY-MM-DD.jsonl`` (local date): one JSON object per line per event
    (report, quarantined, failed, deleted).
On-report command
    ``--on-report CMD`` runs after each report is committed, without a shell: ``{report}``,
    ``{text}`` and ``{acquisition}`` in CMD are replaced by those paths, and without any
    placeholder the JSON report's path is appended.  The environment also carries
    ``FENTID_REPORT``, ``FENTID_REPORT_TEXT``, ``FENTID_ACQUISITION`` and ``FENTID_SHA256``.
    At least once: a run the service did not see finish (crash) is repeated on restart.
Archive hook
    :func:`publish` takes an optional ``archive`` object (:class:`fentid.archive.Archive`):
    after the report files are written it calls ``archive.add(report, path)`` with the
    report dict and the acquisition path (the archive reads the acquisition again for its
    peak lists and checks its sha256 against the report's).  The service makes it with
    :func:`open_archive` from the ``archive`` setting.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fentid.errors import ConfigError
from fentid.fsutil import fsync_folder as _fsync_folder

TMP_MARK = ".fentid-tmp-"
REPORT_SUFFIX, TEXT_SUFFIX = ".fentid.json", ".fentid.txt"


def report_paths(out: Path, label: str, rel: str) -> tuple[Path, Path]:
    """JSON and text report paths of the acquisition ``rel`` (posix, relative)."""
    base = out / label if label else out
    target = base.joinpath(*rel.split("/"))
    return (target.with_name(target.name + REPORT_SUFFIX),
            target.with_name(target.name + TEXT_SUFFIX))


def versioned(path: Path, version: int) -> Path:
    """``X.fentid.json`` -> ``X.fentid.v<version>.json`` (kept when a newer version lands)."""
    for suffix in (REPORT_SUFFIX, TEXT_SUFFIX):
        if path.name.endswith(suffix):
            stem = path.name[: -len(suffix)]
            ext = suffix.rsplit(".", 1)[1]
            return path.with_name(f"{stem}.fentid.v{version}.{ext}")
    raise ValueError(f"not a report path: {path}")


def write_bytes(path: Path, data: bytes) -> None:
    """The one place reports are written: temp file, fsync, rename, fsync the folder.

    Raises
    ------
    OSError
        Folder not writable, disk full...; the temporary file is removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_MARK}{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


def remove_stale_temps(out: Path) -> int:
    """Delete temporary report files a killed service left in OUT; returns how many."""
    removed = 0
    for tmp in out.rglob(f"{TMP_MARK}*"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def _reported_version(path: Path) -> int | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return int(json.load(fh)["acquisition"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Published:
    """Where a report went, and where the previous version's went (or None)."""

    report: Path
    text: Path
    kept_previous: tuple[Path, Path] | None = None


def keep_previous(json_path: Path, text_path: Path, version: int,
                  old_version: int) -> tuple[Path, Path] | None:
    """Rename the report pair of ``old_version`` to its versioned names, when the current
    files hold that (older) version; None when there is nothing to keep."""
    found = _reported_version(json_path)
    if found is None or found >= version:
        return None
    kept = (versioned(json_path, found), versioned(text_path, found))
    os.replace(json_path, kept[0])
    if text_path.exists():
        os.replace(text_path, kept[1])
    _fsync_folder(json_path.parent)
    return kept


def publish(report_json: str, report_text: str, json_path: Path, text_path: Path,
            archive=None, report: dict | None = None, source: str | None = None) -> Published:
    """Write one acquisition's report pair atomically, then hand it to the archive hook.

    Parameters
    ----------
    report_json, report_text : str
        The JSON and text reports.
    json_path, text_path : Path
        Their paths (:func:`report_paths`).
    archive : object with ``add(report: dict, source: str)``, optional
        The case archive (:mod:`fentid.archive`); called after both files are written.
    report : dict, optional
        The parsed report for the archive (parsed from ``report_json`` when not given).
    source : str, optional
        The acquisition's path, for the archive.
    """
    write_bytes(json_path, report_json.encode("utf-8"))
    write_bytes(text_path, report_text.encode("utf-8"))
    if archive is not None:
        archive.add(report if report is not None else json.loads(report_json), source)
    return Published(json_path, text_path)


def open_archive(folder: str | None):
    """The case archive in ``folder`` (:func:`fentid.archive.open_archive`), or None.

    Raises
    ------
    ConfigError
        An archive is configured but cannot be opened (pyarrow missing, not an archive...).
    """
    if not folder:
        return None
    from fentid import archive
    from fentid.errors import ArchiveError

    try:
        return archive.open_archive(folder)
    except ArchiveError as exc:
        raise ConfigError(f"archive setting: {exc}") from None


# --- day log ---------------------------------------------------------------------------

class DayLog:
    """Appends one JSON line per event to ``OUT/fentid-watch-YYYY-MM-DD.jsonl``."""

    def __init__(self, out: Path):
        self.out = Path(out)

    def path_for(self, when: float) -> Path:
        day = datetime.datetime.fromtimestamp(when).strftime("%Y-%m-%d")
        return self.out / f"fentid-watch-{day}.jsonl"

    def write(self, event: str, **fields) -> None:
        """Append one event (raises OSError when OUT cannot be written)."""
        now = time.time()
        record = {"time": datetime.datetime.fromtimestamp(now).astimezone().isoformat(
            timespec="milliseconds"), "event": event, **fields}
        path = self.path_for(now)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


# --- on-report command -----------------------------------------------------------------

def hook_command(cmd: str, report: Path, text: Path, acquisition: str) -> list[str]:
    """The argument list of ``--on-report CMD`` for one report (no shell involved)."""
    args = shlex.split(cmd, posix=sys.platform != "win32")
    values = {"{report}": str(report), "{text}": str(text), "{acquisition}": acquisition}
    if not any(key in arg for arg in args for key in values):
        return [*args, str(report)]
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


@dataclass
class _Running:
    row_id: int
    proc: subprocess.Popen
    started: float
    what: str
    errfile: object


class Hooks:
    """On-report commands running in the background (at most ``limit`` at once).

    Parameters
    ----------
    cmd : str
        The ``--on-report`` command.
    timeout : float
        Seconds before a command is killed (counts as failed).
    log : callable(str)
        Where problems are reported.
    """

    def __init__(self, cmd: str, timeout: float = 300.0, limit: int = 4, log=print):
        self.cmd, self.timeout, self.limit, self.log = cmd, timeout, limit, log
        self.running: list[_Running] = []
        self.queue: list[tuple[int, Path, Path, str, str]] = []
        self.finished: list[tuple[int, bool]] = []

    def submit(self, row_id: int, report: Path, text: Path, acquisition: str,
               sha256: str) -> None:
        self.queue.append((row_id, report, text, acquisition, sha256))
        self._start()

    def _start(self) -> None:
        while self.queue and len(self.running) < self.limit:
            row_id, report, text, acquisition, sha256 = self.queue.pop(0)
            args = hook_command(self.cmd, report, text, acquisition)
            env = {**os.environ, "FENTID_REPORT": str(report), "FENTID_REPORT_TEXT": str(text),
                   "FENTID_ACQUISITION": acquisition, "FENTID_SHA256": sha256}
            # stderr to a file, not a pipe: a chatty command must not block on a full pipe
            errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in poll()
            try:
                proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=errfile)
            except OSError as exc:
                errfile.close()
                self.log(f"on-report command cannot start for {acquisition}: "
                         f"{exc.strerror or exc}")
                self.finished.append((row_id, False))
                continue
            self.running.append(_Running(row_id, proc, time.monotonic(), acquisition, errfile))

    def poll(self) -> list[tuple[int, bool]]:
        """(row id, succeeded) of commands that ended since the last call."""
        done, self.finished = self.finished, []
        still = []
        for run in self.running:
            code = run.proc.poll()
            if code is None and time.monotonic() - run.started > self.timeout:
                run.proc.kill()
                code = run.proc.wait()
                self.log(f"on-report command for {run.what} killed after {self.timeout:.0f} s")
            if code is None:
                still.append(run)
                continue
            run.errfile.seek(0)
            err = run.errfile.read(4096).decode(errors="replace").strip()
            run.errfile.close()
            if code != 0:
                self.log(f"on-report command for {run.what} exited {code}"
                         + (f": {' '.join(err.split())[:300]}" if err else ""))
            done.append((run.row_id, code == 0))
        self.running = still
        self._start()
        return done

    def busy(self) -> bool:
        return bool(self.running or self.queue)

    def stop(self, wait: float = 5.0) -> list[tuple[int, bool]]:
        """Wait up to ``wait`` s for running commands; returns what finished."""
        end = time.monotonic() + wait
        out = []
        while self.running and time.monotonic() < end:
            out.extend(self.poll())
            time.sleep(0.05)
        out.extend(self.poll())
        return out
