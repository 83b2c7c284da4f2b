"""Settings of the watch-folder service: command line over TOML config file over defaults.

The config file (``--config FILE``) holds the same settings as the command line, in a
``[watch]`` table (or at the top level of a file that has no such table)::

    [watch]
    folders = ["D:/Data/GCMS", "//nmr-pc/export"]   # watched folders
    out = "E:/fentid/reports"                      # reports go here
    library = "E:/fentid/lab-library.h5"           # default: fentid's usual library lookup
    workers = 2
    poll = 5          # seconds; forces polling (default: native events, polling on shares)
    settle = 10       # seconds a file must stay unchanged before it is read
    rescan = 300      # seconds between full rescans (catches missed events)
    on_report = "C:/lims/import.exe {report}"
    state = "E:/fentid/state"                      # journal, lock, status, log
    log = "E:/fentid/state/fentid-watch.log"

Relative paths in the file are relative to the file's folder.  Durations are seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fentid.errors import ConfigError

#: Names never taken for acquisitions (fnmatch, case-insensitive): partial downloads,
#: editor and Office lock files, OS clutter, and fentid's own output.
DEFAULT_IGNORE = (".*", "~$*", "*~", "*.tmp", "*.temp", "*.part", "*.partial", "*.crdownload",
                  "*.lock", "*.lck", "Thumbs.db", "desktop.ini", "*.fentid.json",
                  "*.fentid.txt")


@dataclass(frozen=True)
class Settings:
    """Everything the service needs, resolved and checked (paths absolute).

    Attributes
    ----------
    folders : tuple of Path
        Watched folders.
    out : Path
        Output folder: ``OUT/<relative path>.fentid.json`` and ``.fentid.txt``.
    library : Path or None
        Library file (None: fentid's usual lookup, resolved when the service starts).
    workers : int
        Worker processes, each with the library opened once.
    poll : float or None
        Polling interval in s, forcing watchdog's PollingObserver; None chooses per folder
        (polling on SMB/CIFS and NFS shares, native events elsewhere).
    settle : float
        Seconds an acquisition must stay unchanged (sizes and mtimes) before it is read.
    rescan : float
        Seconds between full rescans of the watched folders.
    state : Path
        Folder of the journal (``journal.sqlite``), the instance lock and ``status.json``.
    log : Path
        Rotating log file.
    on_report : str or None
        Command run after each report (``{report}``, ``{text}``, ``{acquisition}`` are
        replaced; without placeholders the JSON report's path is appended).
    archive : str or None
        Case archive folder (:mod:`fentid.archive`): every reported component is added
        to it after its report is written.
    once : bool
        Process what is there, then exit.
    give_up_after : float
        Seconds an unchanged acquisition may stay incomplete before it is quarantined.
    task_timeout : float
        Seconds one identification may take before its worker is killed.
    max_attempts : int
        Worker crashes, timeouts or internal errors on one acquisition before quarantine.
    retry_base, retry_max : float
        Backoff of retries in s: ``retry_base * 2**(attempts - 1)``, at most ``retry_max``.
    top : int
        Hits per component in the reports.
    ignore : tuple of str
        File name patterns never taken for acquisitions.
    recycle_after : int
        Restart a worker after this many identifications (0: never).
    stop_grace : float
        On SIGINT/SIGTERM, seconds to let identifications in flight finish.
    """

    folders: tuple[Path, ...]
    out: Path
    state: Path
    log: Path
    library: Path | None = None
    workers: int = 2
    poll: float | None = None
    settle: float = 10.0
    rescan: float = 300.0
    on_report: str | None = None
    archive: str | None = None
    once: bool = False
    give_up_after: float = 86400.0
    task_timeout: float = 3600.0
    max_attempts: int = 3
    retry_base: float = 5.0
    retry_max: float = 600.0
    top: int = 10
    ignore: tuple[str, ...] = field(default=DEFAULT_IGNORE)
    recycle_after: int = 0
    stop_grace: float = 30.0

    def labels(self) -> dict[Path, str]:
        """Output sub-folder per watched folder: none for one folder, else its name
        (made unique with ``_2``, ``_3``...)."""
        if len(self.folders) == 1:
            return {self.folders[0]: ""}
        out, used = {}, set()
        for folder in self.folders:
            name, k = folder.name or "root", 1
            label = name
            while label.lower() in used:
                k += 1
                label = f"{name}_{k}"
            used.add(label.lower())
            out[folder] = label
        return out


#: Setting name -> (type, minimum) for numbers read from the command line or the file.
_NUMBERS = {"workers": (int, 1), "poll": (float, 0.05), "settle": (float, 0.0),
            "rescan": (float, 1.0), "give_up_after": (float, 0.0),
            "task_timeout": (float, 1.0), "max_attempts": (int, 1),
            "retry_base": (float, 0.01), "retry_max": (float, 0.01), "top": (int, 1),
            "recycle_after": (int, 0), "stop_grace": (float, 0.0)}
_PATHS = ("out", "library", "state", "log", "archive")
_KNOWN = {f.name for f in dataclasses.fields(Settings)} - {"once"}


def default_state_dir(out: Path) -> Path:
    """Per-output-folder state folder in the platform's state location.

    Not inside ``out``: the journal must stay writable when the output folder is not.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    tag = hashlib.sha256(str(out).encode()).hexdigest()[:12]
    return base / "fentid" / "watch" / f"{out.name or 'out'}-{tag}"


def read_config(path: str | os.PathLike) -> dict:
    """The ``[watch]`` settings of a TOML file, paths made absolute against its folder.

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or holds an unknown setting.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file is not valid TOML: {' '.join(str(exc).split())}",
                          path) from exc
    table = data.get("watch", data)
    if not isinstance(table, dict):
        raise ConfigError("[watch] must be a table", path)
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(_KNOWN))}", path)
    base = path.parent
    out = dict(table)
    if "folders" in out:
        folders = out["folders"]
        if isinstance(folders, str):
            folders = [folders]
        out["folders"] = [str(base / Path(f).expanduser()) for f in folders]
    for key in _PATHS:
        if out.get(key):
            out[key] = str(base / Path(out[key]).expanduser())
    out["_source"] = str(path)
    return out


def _number(key: str, value, source: str):
    kind, low = _NUMBERS[key]
    try:
        number = kind(value)
        if isinstance(value, bool) or (kind is int and number != float(value)):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number{' (whole)' if kind is int else ''}, "
                          f"not {value!r}", source) from None
    if number < low:
        raise ConfigError(f"{key} must be at least {low}, not {value!r}", source)
    return number


def make_settings(cli: dict, config_file: str | os.PathLike | None = None) -> Settings:
    """Settings from command-line values (None: not given) over a config file's.

    Parameters
    ----------
    cli : dict
        Setting name -> value from the command line (``folders`` a list).
    config_file : path-like, optional
        TOML file (see the module docstring).

    Raises
    ------
    ConfigError
        A setting is missing or wrong; the message names it (and the file).
    """
    values = read_config(config_file) if config_file else {}
    source = values.pop("_source", "command line")
    for key, value in cli.items():
        if value is not None and value != [] and key != "once":
            values[key] = value
    if not values.get("folders"):
        raise ConfigError("no folder to watch: give FOLDER... or 'folders' in the config file")
    if not values.get("out"):
        raise ConfigError("no output folder: give --out DIR or 'out' in the config file")
    kwargs: dict = {"once": bool(cli.get("once"))}
    for key, value in values.items():
        if key in _NUMBERS:
            kwargs[key] = _number(key, value, source)
        elif key in ("on_report", "archive"):
            kwargs[key] = str(value)
        elif key == "ignore":
            kwargs[key] = tuple(str(v) for v in value)
    folders = []
    for f in values["folders"]:
        folder = Path(f).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError("watched folder does not exist (or is not a folder)", folder)
        if folder in folders:
            continue
        folders.append(folder)
    out = Path(values["out"]).expanduser().resolve()
    for folder in folders:
        if folder == out or folder in out.parents or out in folder.parents:
            raise ConfigError(f"the output folder and the watched folder {folder} must not "
                              "contain each other (reports would be watched)", out)
    state = Path(values["state"]).expanduser().resolve() if values.get("state") \
        else default_state_dir(out)
    log = Path(values["log"]).expanduser().resolve() if values.get("log") \
        else state / "fentid-watch.log"
    library = Path(values["library"]).expanduser().resolve() if values.get("library") else None
    return Settings(folders=tuple(folders), out=out, state=state, log=log, library=library,
                    **kwargs)


def status_settings(cli: dict, config_file: str | os.PathLike | None = None) -> Path:
    """The state folder ``fentid watch --status`` reads: ``--state``, the config file's
    ``state``, else the default for ``--out`` / the config file's ``out``.

    Raises
    ------
    ConfigError
        Neither a state folder nor an output folder is given.
    """
    values = read_config(config_file) if config_file else {}
    state = cli.get("state") or values.get("state")
    if state:
        return Path(state).expanduser().resolve()
    out = cli.get("out") or values.get("out")
    if not out:
        raise ConfigError("--status needs --state DIR, --out DIR or --config FILE to find "
                          "the service's journal")
    return default_state_dir(Path(out).expanduser().resolve())
