"""The driver registry: content sniffing picks one driver per file or folder.

Each format module calls :func:`register` at import time with a
:class:`Driver`. :func:`find_driver` reads the first bytes once, asks every
driver's ``sniff``; the file extension only breaks ties.

gzip-compressed files (``X.mzML.gz``, ``X.msp.gz``, ``X.jdx.gz``...) are
sniffed by their decompressed first bytes and read transparently, for every
single-file format: drivers with ``reads_gzip`` stream the ``.gz`` themselves,
the others get a decompressed temporary copy, whose paths and digests are put
back to the ``.gz`` file in the result, its warnings and its errors
(:mod:`fentid.drivers._gzip`).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fentid.drivers._gzip import decompressed_name, gunzip_head, gunzip_to, is_gzip
from fentid.errors import CorruptDataError, FentidError, UnknownFormatError
from fentid.spectra.model import Dataset, hash_source

#: Bytes handed to ``sniff`` for a file (folders get ``b""``).
HEAD_BYTES = 8192

#: Modules that register drivers; imported on first use so start-up stays cheap.
DRIVER_MODULES = (
    "bruker", "varian", "jeol", "spinsolve", "jcampdx", "nmrpipe", "nmrml",
    "mzml", "mzxml", "mzdata", "mgf", "imzml", "msp", "massbank", "andi", "agilent", "waters",
    "saturn", "thermo", "shimadzu", "nmrshiftdb2", "bmrb", "nmredata", "asics_csv",
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
    reads_gzip : bool
        True when ``read`` opens its file through
        :func:`fentid.drivers._gzip.open_binary` and so streams a gzip file
        itself; other drivers are given a decompressed temporary copy.
    """

    name: str
    sniff: Callable[[Path, bytes], bool]
    read: Callable[[Path], Dataset]
    technique: str
    description: str = ""
    extensions: tuple[str, ...] = field(default_factory=tuple)
    reads_gzip: bool = False


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
    """First ``n`` bytes of a file (decompressed when it is gzip), ``b""`` for a folder."""
    if path.is_dir():
        return b""
    if is_gzip(path):
        return gunzip_head(path, n)
    with open(path, "rb") as fh:
        return fh.read(n)


def _sniff_head(path: Path) -> bytes:
    """:func:`read_head` for sniffing: a damaged gzip header sniffs as nothing."""
    try:
        return read_head(path)
    except CorruptDataError:
        return b""


def claimants(path: str | os.PathLike) -> list[Driver]:
    """Every driver whose ``sniff`` claims ``path`` (normally zero or one)."""
    path = Path(path)
    head = _sniff_head(path)
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
    gz = is_gzip(path)
    if gz and not read_head(path):  # raises for a damaged gzip header
        raise UnknownFormatError("gzip file whose content is empty", path)
    found = claimants(path)
    if len(found) > 1:
        suffix = Path(decompressed_name(path) if gz else path.name).suffix.lower()
        by_ext = [d for d in found if suffix in d.extensions]
        found = by_ext or found
    if not found:
        known = ", ".join(sorted(drivers()))
        kind = "folder" if path.is_dir() else "file"
        what = "the content of this gzip file" if gz else f"this {kind}"
        raise UnknownFormatError(f"no driver recognises {what}; known formats: {known}", path)
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
        if not driver.reads_gzip and is_gzip(path):
            return _read_gunzipped(driver, path, options)
        return driver.read(path, **options)
    except FentidError:
        raise
    except (OSError, ValueError, KeyError, IndexError, EOFError, TypeError,
            UnicodeDecodeError, OverflowError, AttributeError) as exc:
        raise CorruptDataError(
            f"cannot be read as {driver.description or driver.name}: "
            f"{type(exc).__name__}: {exc}", path) from exc


def _read_gunzipped(driver: Driver, path: Path, options: dict) -> Dataset:
    """Read a gzip file with a driver that needs a plain file: via a temporary copy.

    The copy is named like ``path`` without ``.gz`` (drivers may look at the
    suffix) and deleted afterwards. Its path is replaced by ``path`` in the
    Dataset, the items' provenance, warnings and error messages, and the
    digests become that of the ``.gz`` file.
    """
    with tempfile.TemporaryDirectory(prefix="fentid_gunzip_") as tmp:
        plain = Path(tmp) / decompressed_name(path)
        gunzip_to(path, plain)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = driver.read(plain, **options)
            except FentidError as exc:
                raise _renamed_error(exc, plain, path) from exc
            except (OSError, ValueError, KeyError, IndexError, EOFError, TypeError,
                    UnicodeDecodeError, OverflowError, AttributeError) as exc:
                raise CorruptDataError(
                    f"cannot be read as {driver.description or driver.name}: "
                    f"{type(exc).__name__}: {str(exc).replace(str(plain), str(path))}",
                    path) from exc
    for w in caught:
        warnings.warn(str(w.message).replace(str(plain), str(path)), w.category, stacklevel=3)
    return restore_source(ds, plain, path)


def _renamed_error(exc: FentidError, plain: Path, path: Path) -> FentidError:
    """The same error about ``path`` instead of the temporary copy ``plain``."""
    message = exc.message.replace(str(plain), str(path))
    where = path if exc.path in (None, str(plain)) else exc.path
    try:
        new = type(exc)(message, where)
    except TypeError:  # a subclass with another signature: keep its class's meaning
        return CorruptDataError(message, where)
    for key, value in vars(exc).items():  # e.g. NoSpectraError.dataset
        if key not in ("message", "path"):
            setattr(new, key, restore_source(value, plain, path)
                    if isinstance(value, Dataset) else value)
    return new


def restore_source(ds: Dataset, plain: Path, path: Path) -> Dataset:
    """Point a Dataset read from ``plain`` (a decompressed copy) back at ``path``.

    Items whose provenance names ``plain`` get ``path`` and the ``.gz``
    file's sha256; ``metadata["compression"]`` is set to ``"gzip"``.
    """
    sha = hash_source(path)
    items = []
    for item in ds.items:
        prov = getattr(item, "provenance", None)
        if prov is not None and prov.source == str(plain):
            item = item.replace(provenance=dataclasses.replace(prov, source=str(path),
                                                               sha256=sha))
        items.append(item)
    return dataclasses.replace(ds, path=str(path), items=tuple(items), sha256=sha,
                               metadata={**ds.metadata, "compression": "gzip"})
