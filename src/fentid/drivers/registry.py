"""The driver registry: content sniffing picks one driver per file or folder.

Each format module calls :func:`register` at import time with a
:class:`Driver`. :func:`find_driver` reads the first bytes once, asks every
driver's ``sniff``; the file extension only breaks ties.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fentid.errors import CorruptDataError, FentidError, UnknownFormatError
from fentid.spectra.model import Dataset

#: Bytes handed to ``sniff`` for a file (folders get ``b""``).
HEAD_BYTES = 8192

#: Modules that register drivers; imported on first use so start-up stays cheap.
DRIVER_MODULES = (
    "bruker", "varian", "jeol", "spinsolve", "jcampdx", "nmrpipe", "nmrml",
    "mzml", "mzxml", "mgf", "imzml", "msp", "massbank", "andi", "agilent", "waters",
    "thermo", "shimadzu",
)


@dataclass(frozen=True)
class Driver:
    """One file format.

    Attributes
    ----------
    name : str
        Short name (``"bruker"``, ``"mzml"``...), used in ``--format`` and reports.
    sniff : callable(Path, bytes) -> bool
        True when the content is this format; gets the path and its first
        :data:`HEAD_BYTES` bytes (``b""`` for a folder). Must not raise.
    read : callable(Path) -> Dataset
        Reads it; raises ``FormatError`` subclasses for bad input.
    technique : str
        ``"nmr"`` or ``"ms"``.
    description : str
        One line for the formats table and error messages.
    extensions : tuple of str
        Lower-case suffixes (``".jdx"``) used only to break sniffing ties.
    """

    name: str
    sniff: Callable[[Path, bytes], bool]
    read: Callable[[Path], Dataset]
    technique: str
    description: str = ""
    extensions: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, Driver] = {}
_loaded = False


def register(driver: Driver) -> Driver:
    """Add ``driver`` to the registry (called by each format module)."""
    _REGISTRY[driver.name] = driver
    return driver


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in DRIVER_MODULES:
        try:
            importlib.import_module(f"fentid.drivers.{mod}")
        except ModuleNotFoundError as exc:
            # a format module not written yet must not break the others
            if exc.name != f"fentid.drivers.{mod}":
                raise


def drivers() -> dict[str, Driver]:
    """All registered drivers by name."""
    _load_all()
    return dict(_REGISTRY)


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """First ``n`` bytes of a file, ``b""`` for a folder."""
    if path.is_dir():
        return b""
    with open(path, "rb") as fh:
        return fh.read(n)


def claimants(path: str | os.PathLike) -> list[Driver]:
    """Every driver whose ``sniff`` claims ``path`` (normally zero or one)."""
    path = Path(path)
    head = read_head(path)
    found = []
    for drv in drivers().values():
        try:
            if drv.sniff(path, head):
                found.append(drv)
        except Exception:  # noqa: BLE001, S112 - a sniffer bug must not hide other formats
            continue
    return found


def find_driver(path: str | os.PathLike, format: str | None = None) -> Driver:
    """Pick the driver for ``path``.

    Parameters
    ----------
    path : path-like
        File or folder.
    format : str, optional
        Driver name to force (``"auto"`` or None sniffs).

    Raises
    ------
    UnknownFormatError
        When no driver recognises the content, naming the known formats.
    """
    path = Path(path)
    if not path.exists():
        raise UnknownFormatError("no such file or folder", path)
    if format and format != "auto":
        table = drivers()
        if format not in table:
            raise UnknownFormatError(
                f"unknown format {format!r}; known formats: {', '.join(sorted(table))}", path)
        return table[format]
    if path.is_file() and path.stat().st_size == 0:
        raise UnknownFormatError("file is empty", path)
    if path.is_dir() and not any(path.iterdir()):
        raise UnknownFormatError("folder is empty", path)
    found = claimants(path)
    if len(found) > 1:
        suffix = path.suffix.lower()
        by_ext = [d for d in found if suffix in d.extensions]
        found = by_ext or found
    if not found:
        known = ", ".join(sorted(drivers()))
        kind = "folder" if path.is_dir() else "file"
        raise UnknownFormatError(
            f"no driver recognises this {kind}; known formats: {known}", path)
    return found[0]


def read(path: str | os.PathLike, format: str | None = None, **options) -> Dataset:
    """Read any supported file or folder into a :class:`Dataset`.

    Errors a driver did not anticipate (``struct.error``, ``KeyError``...)
    on input it claimed are reported as :class:`CorruptDataError` naming the
    file, so a user never sees a traceback for bad input. ``options`` are
    keyword arguments for the driver's ``read`` (e.g. mzml's ``nominal_boundary``).
    """
    path = Path(path)
    driver = find_driver(path, format)
    try:
        return driver.read(path, **options)
    except FentidError:
        raise
    except (OSError, ValueError, KeyError, IndexError, EOFError, TypeError,
            UnicodeDecodeError, OverflowError, AttributeError) as exc:
        raise CorruptDataError(
            f"cannot be read as {driver.description or driver.name}: "
            f"{type(exc).__name__}: {exc}", path) from exc
