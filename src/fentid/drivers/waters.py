"""Waters MassLynx ``.raw`` folders via rainbow-api.

Format notes
------------
A MassLynx ``.raw`` is a folder:

* ``_HEADER.TXT``: text header (``$$ Instrument:``, ``$$ Acquired Date:``,
  ``$$ Sample Description:``...).
* ``_FUNCTNS.INF``: one record per acquisition function (MS scan, SIM,
  diode array...); ``_FUNC001.DAT`` + ``_FUNC001.IDX`` hold each function's
  data: the IDX gives per-scan offsets, pair counts and retention times
  (minutes), the DAT little-endian packed (key, value) pairs in a 2-, 4-,
  6- or 8-byte layout with per-value exponents, and m/z calibrated by a
  polynomial from ``_HEADER.TXT``.
* ``_CHRO*.DAT`` + ``_CHROMS.INF``: analog channels (CAD, ELSD, UV
  single-wavelength) - described in ``metadata["channels"]``, not items.

Decoding is done by rainbow-api, imported lazily; MS functions become
centroided :class:`~fentid.spectra.model.Run` objects. rainbow returns a
dense (RT x m/z bin) matrix; we bin at 0.0001 Da (finer than the ~0.03 Da
grid the format records, so no peaks are merged; m/z is exact to +-0.00005
Da), drop empty cells and convert minutes to seconds. Diode-array functions
(``detector == "UV"``) are described only.

Caveat: the dense matrix rainbow builds is (scans x occupied bins); for very
long high-resolution runs convert to mzML with msconvert instead.

Checks rainbow does not make (it reads on silently or fails without a
reason): ``_FUNCTNS.INF`` must hold one 416-byte record per ``_FUNCnnn.DAT``
(rainbow only asserts it); the m/z calibration of MS function *n* is the
``$$ Cal Function n`` line of ``_HEADER.TXT`` - without it rainbow returns
raw, uncalibrated m/z (blue.raw without its header: 163.367 instead of
163.010), so a missing calibration is warned about unless the header states
an identity static calibration (``$$ Cal MS1 Static: 0,1``, as indigo.raw).
numpy warnings raised while rainbow decodes damaged data become one
DataQualityWarning (``agilent.call_rainbow``).

Sources: rainbow-api documentation of the MassLynx format
(https://rainbow-api.readthedocs.io).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers.agilent import ms_file_summary, read_rainbow, runs_and_channels
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, FormatError
from fentid.spectra.model import Dataset, hash_source

NAME = "waters"
#: m/z bin asked of rainbow: below the format's grid, so nothing is merged.
WATERS_MZ_BIN = 1e-4
_FUNC_DAT = re.compile(r"_func\d{3}\.dat")


def _names(path: Path) -> dict[str, Path]:
    try:
        return {p.name.lower(): p for p in path.iterdir()}
    except OSError:
        return {}


def sniff(path: Path, head: bytes) -> bool:
    """A folder with ``_HEADER.TXT`` or ``_FUNCTNS.INF`` and ``_FUNCnnn.DAT`` files."""
    if not path.is_dir():
        return False
    names = _names(path)
    has_func = any(_FUNC_DAT.fullmatch(n) for n in names)
    return has_func and ("_header.txt" in names or "_functns.inf" in names)


def _header(path: Path) -> dict[str, str]:
    """``$$ Key: value`` lines of ``_HEADER.TXT``."""
    out = {}
    names = _names(path)
    if "_header.txt" not in names:
        return out
    text = names["_header.txt"].read_text(encoding="latin-1", errors="replace")
    for line in text.splitlines():
        if line.startswith("$$") and ":" in line:
            key, _, value = line[2:].partition(":")
            if value.strip():
                out[key.strip()] = value.strip()
    return out


def _ionization(header: dict[str, str]) -> str | None:
    """ESI when the tune or MS method names it (MassLynx stores no ionisation field)."""
    methods = (header.get("Tune Method", "") + header.get("MS Method", "")).upper()
    return "ESI" if "ESI" in methods else None


def read(path: Path) -> Dataset:
    """Read a Waters ``.raw`` folder: one :class:`Run` per MS function.

    Raises
    ------
    CorruptDataError
        A function's IDX file is missing, or rainbow cannot decode the folder.
    FormatError
        The folder holds no MS functions (UV/analog only).
    """
    path = Path(path)
    names = _names(path)
    for name in names:
        if _FUNC_DAT.fullmatch(name) and name[:-4] + ".idx" not in names:
            raise CorruptDataError(
                f"{names[name].name} has no index file {names[name].stem}.IDX "
                "(copy the complete .raw folder)", path)
        if _FUNC_DAT.fullmatch(name):
            _check_index(path, names[name[:-4] + ".idx"], names[name])
    _check_functions_file(path, names)
    header = _header(path)
    datadir = read_rainbow(path, "waters", WATERS_MZ_BIN)
    sha = hash_source(path)
    extra = {"instrument": header.get("Instrument"), "acquired_at": datadir.metadata.get("date"),
             "ionization": _ionization(header),
             "vendor": "Waters", "sample": header.get("Sample Description")}
    runs, channels = runs_and_channels(datadir, path, NAME, sha, extra)
    if not runs:
        # rainbow learns each function's type from _extern.inf: damaged, MS looks like UV
        extern = names.get("_extern.inf")
        hint = ("" if extern is not None and re.search(
            rb"^(?:Instrument Parameters|Function\s+\d+)", extern.read_bytes(), re.MULTILINE) else
            "; _extern.inf, which names each function's type, is missing or has no "
            "'Instrument Parameters' sections: damaged?")
        raise FormatError("Waters .raw folder holds no MS functions (only "
                          + ", ".join(f"{c['name']} ({c['detector']})" for c in channels)
                          + ")" + hint, path)
    _warn_uncalibrated(path, header, runs)
    meta_header = {**{k: str(v) for k, v in datadir.metadata.items()}, **header}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(runs),
                   metadata={"header": meta_header, "channels": channels,
                             "ms_files": ms_file_summary(runs)},
                   sha256=sha)


#: Bytes per function record of ``_FUNCTNS.INF`` (rainbow-api's check: 32 x 13).
FUNCTION_RECORD_BYTES = 416


#: Bytes per scan record of ``_FUNCnnn.IDX``: offset u32, pair count (22 bits) u32, ...,
#: retention time f32 at byte 12 (rainbow-api's format notes).
INDEX_RECORD_BYTES = 22


def _check_index(path: Path, idx: Path, dat: Path) -> None:
    """A function's index must be whole records and its data file as long as they say.

    rainbow derives the DAT layout (bytes per pair) from the file size, so a
    truncated DAT fails there with "The {bytes_per_pair}-bytes format is not
    supported"; this names the file and what is missing instead.
    """
    raw = idx.read_bytes()
    if len(raw) % INDEX_RECORD_BYTES:
        raise CorruptDataError(
            f"{idx.name} is {len(raw)} bytes, not a whole number of {INDEX_RECORD_BYTES}-byte "
            "scan records: truncated", path)
    n = len(raw) // INDEX_RECORD_BYTES
    if n == 0:
        raise CorruptDataError(f"{idx.name} is empty: the function has no scan index", path)
    offsets = np.ndarray(n, "<u4", raw, 0, INDEX_RECORD_BYTES).astype(np.int64)
    counts = (np.ndarray(n, "<u4", raw, 4, INDEX_RECORD_BYTES) & 0x3FFFFF).astype(np.int64)
    filled = np.flatnonzero(counts)
    if filled.size == 0:
        return
    steps = np.diff(offsets[filled]) / counts[filled[:-1]]
    per_pair = steps[0] if steps.size else None
    if per_pair is None or per_pair not in (2, 4, 6, 8) or np.any(steps != per_pair):
        return  # not the layout we can check; rainbow decides
    need = int(offsets[filled[-1]] + counts[filled[-1]] * per_pair)
    size = dat.stat().st_size
    if size < need:
        raise CorruptDataError(
            f"{dat.name} is {size} bytes but its index {idx.name} locates {int(counts.sum())} "
            f"peaks in {need} bytes: the data file is truncated", path)


def _check_functions_file(path: Path, names: dict[str, Path]) -> None:
    """``_FUNCTNS.INF`` must hold one record per ``_FUNCnnn.DAT`` (else rainbow asserts)."""
    inf = names.get("_functns.inf")
    if inf is None:
        return
    n_funcs = sum(1 for n in names if _FUNC_DAT.fullmatch(n))
    size = inf.stat().st_size
    if size != FUNCTION_RECORD_BYTES * n_funcs:
        raise CorruptDataError(
            f"{inf.name} is {size} bytes but the folder's {n_funcs} function data files "
            f"(_FUNCnnn.DAT) need {n_funcs} x {FUNCTION_RECORD_BYTES} = "
            f"{FUNCTION_RECORD_BYTES * n_funcs}: truncated, or files of another acquisition?",
            path)


def _warn_uncalibrated(path: Path, header: dict[str, str], runs) -> None:
    """Warn when an MS function has no ``$$ Cal Function n`` line (rainbow then skips
    the calibration) and the header does not state an identity calibration."""
    static = [v.strip() for v in header.get("Cal MS1 Static", "").split(",")]
    if len(static) >= 2 and _is_number(static[0]) and _is_number(static[1]) \
            and float(static[0]) == 0.0 and float(static[1]) == 1.0:
        return  # the instrument's static calibration is the identity
    missing = [r.metadata["channel"] for r in runs
               if f"Cal Function {_function_number(r.metadata['channel'])}" not in header]
    if missing:
        where = "_HEADER.TXT has no" if header else "there is no _HEADER.TXT with its"
        warnings.warn(f"{path}: {where} '$$ Cal Function' calibration for "
                      f"{', '.join(missing)}: m/z values are uncalibrated (raw) and may be "
                      "off by tenths of a dalton; copy the complete .raw folder",
                      DataQualityWarning, stacklevel=3)


def _function_number(channel: str) -> int:
    match = re.search(r"(\d{3})", channel)
    return int(match.group(1)) if match else 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


register(Driver(NAME, sniff, read, "ms", "Waters MassLynx .raw folder", (".raw",)))
