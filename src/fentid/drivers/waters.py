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

Sources: rainbow-api documentation of the MassLynx format
(https://rainbow-api.readthedocs.io).
"""

from __future__ import annotations

import re
from pathlib import Path

from fentid.drivers.agilent import ms_file_summary, read_rainbow, runs_and_channels
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, FormatError
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
    header = _header(path)
    datadir = read_rainbow(path, "waters", WATERS_MZ_BIN)
    sha = hash_source(path)
    extra = {"instrument": header.get("Instrument"), "acquired_at": datadir.metadata.get("date"),
             "ionization": _ionization(header),
             "vendor": "Waters", "sample": header.get("Sample Description")}
    runs, channels = runs_and_channels(datadir, path, NAME, sha, extra)
    if not runs:
        raise FormatError("Waters .raw folder holds no MS functions (only "
                          + ", ".join(f"{c['name']} ({c['detector']})" for c in channels)
                          + ")", path)
    meta_header = {**{k: str(v) for k, v in datadir.metadata.items()}, **header}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(runs),
                   metadata={"header": meta_header, "channels": channels,
                             "ms_files": ms_file_summary(runs)},
                   sha256=sha)


register(Driver(NAME, sniff, read, "ms", "Waters MassLynx .raw folder", (".raw",)))
