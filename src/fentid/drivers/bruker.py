"""Bruker TopSpin / XWIN-NMR experiment folders.

Format notes
------------
Layout
    An *experiment folder* (``<name>/<expno>/``) holds the acquisition
    parameters ``acqus`` (``acqu2s`` for the indirect dimension of 2-D data),
    the raw time-domain data ``fid`` (1-D) or ``ser`` (2-D and higher), and
    processed data under ``pdata/<procno>/``: parameters ``procs``
    (``proc2s``), the real/imaginary spectrum ``1r``/``1i`` (1-D) or ``2rr``
    (2-D), and optionally TopSpin's ``peaklist.xml``, ``integrals.txt`` and
    ``title``.  The user may point at the experiment folder, at ``pdata`` or
    at ``pdata/<procno>``, at the ``fid``/``ser`` file itself, or at the dataset
    folder ``<name>/`` when it holds a single experiment.
Parameter files
    JCAMP-DX 5 style text: ``##$KEY= value``; strings in ``<...>``; arrays
    written as ``##$KEY= (0..n)`` followed by the values on the next lines;
    ``$$`` lines are comments.
Binary data
    ``fid``/``ser``: interleaved real/imaginary, ``TD`` numbers per FID
    (``TD`` counts real *and* imaginary, so TD=16384 is 8192 complex points).
    ``DTYPA`` 0 = int32, 2 = float64; ``BYTORDA`` 0 = little-endian,
    1 = big-endian.  In ``ser`` each FID is padded to a multiple of 256
    numbers (1024 bytes of int32).  ``1r``/``1i``/``2rr``: ``DTYPP`` and
    ``BYTORDP`` likewise; int32 values are scaled by ``2**NC_proc``.  2-D
    processed data is stored in submatrix tiles of ``XDIM`` points.
Vendor quirks
    Digital (DSP) receivers prepend a group delay to the FID: TopSpin >= 2
    records it as ``GRPDLY`` (points); older data needs the DSPFVS/DECIM table
    (nmrglue's ``bruker_dsp_table``, itself from Westler & Abildgaard).
    ``GRPDLY = -1`` means "not recorded".  The ppm axis of processed data is
    ``OFFSET`` (ppm of the first, left-most point) descending in steps of
    ``SW_p / SF / SI``; ``SF`` (MHz) carries the vendor's referencing
    (``SR = SF - BF1``).  TopSpin phases ``PHC0``/``PHC1`` (degrees) are in
    ``procs``.  A folder written by an acquisition still running has a ``fid``
    shorter than ``TD`` says: reported as :class:`IncompleteDataError`.
    ``procs`` may be left over from another experiment (the alginate CP/MAS
    folder's procs predates its acqus by a week, and its phases do not fit
    the data): a ``SF`` more than 100 ppm from ``BF1`` cannot be this
    acquisition's reference, so phases and reference are then not used (with
    a warning).  A ``fid`` holding more than one padded FID (an arrayed
    experiment without ``acqu2s``) is warned about: only the first is read.
    Decoded values are checked (NaN, infinities, absurd magnitudes, all
    zeros: :class:`CorruptDataError`).
Sources
    Bruker "TopSpin acquisition/processing parameter reference" manuals;
    nmrglue ``fileio/bruker.py``; W. M. Westler and F. Abildgaard, "DMX digital
    filters" (1996); cheminfo/brukerconverter.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, IncompleteDataError
from fentid.spectra.model import Dataset, Fid, Provenance, Spectrum, hash_source

NAME = "bruker"

#: acqus keys shown by ``fentid info`` (when present).
HEADER_KEYS = ("NUC1", "SFO1", "BF1", "O1", "SW", "SW_h", "TD", "NS", "DS", "PULPROG",
               "SOLVENT", "TE", "DECIM", "DSPFVS", "GRPDLY", "DTYPA", "BYTORDA", "AQ_mod",
               "DATE")
#: procs keys shown by ``fentid info`` (when present).
PROC_KEYS = ("SI", "SF", "OFFSET", "SW_p", "PHC0", "PHC1", "NC_proc", "LB", "WDW")

_RAW_FILES = ("fid", "ser")


# --- parameter files ------------------------------------------------------------------

def _convert(token: str):
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token


def parse_parameters(path: Path) -> dict:
    """Parse a TopSpin parameter file (``acqus``, ``procs``...) into a dict.

    Parameters
    ----------
    path : Path
        The parameter file.

    Returns
    -------
    dict
        ``KEY -> value`` without the ``##$`` prefix: numbers as int/float,
        ``<text>`` as str, arrays as lists.

    Raises
    ------
    CorruptDataError
        When the file is not a JCAMP-style parameter file.
    """
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise CorruptDataError(f"cannot read parameter file: {exc}", path) from exc
    if "##" not in text[:200] or "\x00" in text[:4096]:
        raise CorruptDataError("not a TopSpin parameter file (no '##KEY=' lines)", path)
    params: dict = {}
    key, array = None, None
    for line in text.splitlines():
        if line.startswith("$$"):
            continue
        if line.startswith("##"):
            key, array = None, None
            name, sep, value = line[2:].partition("=")
            if not sep:
                continue
            key = name.strip().lstrip("$")
            value = value.strip()
            if value.startswith("(") and ".." in value and value.endswith(")"):
                array = []
                params[key] = array
            elif value.startswith("<"):
                params[key] = value[1:-1] if value.endswith(">") else value[1:]
            else:
                params[key] = _convert(value)
        elif array is not None:
            array.extend(_convert(t) for t in line.split())
    if not params:
        raise CorruptDataError("parameter file has no parameters", path)
    return params


def _number(params: dict, key: str, where: Path, required: bool = True):
    value = params.get(key)
    if isinstance(value, int | float):
        return value
    if required:
        raise CorruptDataError(f"parameter {key} missing or not a number", where)
    return None


# --- locating the parts of a dataset --------------------------------------------------

def _procnos(pdata: Path) -> list[Path]:
    if not pdata.is_dir():
        return []
    found = [p for p in pdata.iterdir() if p.is_dir() and p.name.isdigit()
             and (p / "procs").is_file()]
    return sorted(found, key=lambda p: int(p.name))


def locate(path: Path) -> tuple[Path | None, Path | None]:
    """Return ``(experiment folder, processing folder)`` for any entry point.

    Either may be None (processed data without its acquisition folder; an
    experiment never processed).
    """
    path = Path(path)
    if path.is_file():
        return (path.parent, _first(_procnos(path.parent / "pdata")))
    if (path / "acqus").is_file():
        return path, _first(_procnos(path / "pdata"))
    if path.name == "pdata" or _procnos(path):
        exp = path.parent if (path.parent / "acqus").is_file() else None
        return exp, _first(_procnos(path))
    if (path / "procs").is_file():
        exp = path.parent.parent
        return (exp if (exp / "acqus").is_file() else None), path
    only = _single_expno(path)
    if only is not None:
        return only, _first(_procnos(only / "pdata"))
    return None, None


def _single_expno(path: Path) -> Path | None:
    """The experiment folder of a dataset folder (``<name>/``) holding exactly one expno."""
    found = [p for p in path.iterdir() if p.is_dir() and p.name.isdigit()
             and (p / "acqus").is_file()]
    return found[0] if len(found) == 1 else None


def _first(items):
    return items[0] if items else None


def sniff(path: Path, head: bytes) -> bool:
    """Claim experiment folders (``acqus`` + data), pdata folders, ``fid``/``ser`` files
    and dataset folders with a single experiment.

    A folder with ``acqus`` and nothing else is claimed too, so the user is
    told which data file is missing instead of "unknown format".
    """
    try:
        if path.is_file():
            return path.name in _RAW_FILES and (path.parent / "acqus").is_file()
        if not path.is_dir():
            return False
        if (path / "acqus").is_file():
            return True
        if (path / "procs").is_file():
            return any((path / n).is_file() for n in ("1r", "2rr"))
        if path.name == "pdata":
            return bool(_procnos(path))
        return _single_expno(path) is not None
    except OSError:
        return False


# --- binary data ---------------------------------------------------------------------

def _raw_dtype(params: dict, kind: str, where: Path) -> np.dtype:
    """numpy dtype of fid/ser (kind "A") or processed data (kind "P")."""
    dtype_code = params.get(f"DTYP{kind}", 0)
    order = params.get(f"BYTORD{kind}", 0)
    base = {0: "i4", 1: "f4", 2: "f8"}.get(dtype_code)
    if base is None:
        raise CorruptDataError(f"unknown data type DTYP{kind}={dtype_code}", where)
    return np.dtype((">" if order == 1 else "<") + base)


def group_delay(acqus: dict, where: Path | None = None) -> float:
    """Digital-filter group delay in complex points (0 for analog receivers).

    ``GRPDLY`` when recorded (TopSpin >= 2), else the DSPFVS/DECIM table;
    ``where`` (the acqus file) is named in the warning when neither gives it.
    """
    grpdly = acqus.get("GRPDLY")
    if isinstance(grpdly, int | float) and grpdly >= 0:
        return float(grpdly)
    if acqus.get("DIGMOD", 1) == 0:
        return 0.0
    dspfvs, decim = acqus.get("DSPFVS"), acqus.get("DECIM")
    if not isinstance(dspfvs, int | float) or not isinstance(decim, int | float):
        return 0.0
    from nmrglue.fileio.bruker import bruker_dsp_table

    table = bruker_dsp_table.get(int(dspfvs), {})
    if int(decim) in table:
        return float(table[int(decim)])
    warnings.warn(f"{str(where) + ': ' if where else ''}no group delay known for DSPFVS={dspfvs} "
                  f"DECIM={decim}; assuming 0 (the spectrum's first-order phase will be "
                  "large)", DataQualityWarning, stacklevel=3)
    return 0.0


def _read_fid_1d(fid_path: Path, acqus: dict) -> np.ndarray:
    td = int(_number(acqus, "TD", fid_path.parent / "acqus"))
    dtype = _raw_dtype(acqus, "A", fid_path.parent / "acqus")
    need = td * dtype.itemsize
    size = fid_path.stat().st_size
    if size == 0:
        raise IncompleteDataError(f"fid is empty (acqus says TD={td})", fid_path)
    if size < need:
        raise IncompleteDataError(
            f"fid has {size} bytes but TD={td} needs {need}: acquisition incomplete or "
            "file truncated", fid_path)
    # TopSpin pads each FID to 1024 bytes; a fid holding several is an arrayed
    # experiment stored without acqu2s/ser: say so rather than keep the first quietly
    block = -(-need // 1024) * 1024
    if size >= 2 * block:
        warnings.warn(f"{fid_path}: holds {size // block} FIDs' worth of data ({size} bytes, "
                      f"TD={td}) but acqus describes one; only the first FID is read",
                      DataQualityWarning, stacklevel=3)
    raw = np.fromfile(fid_path, dtype=dtype, count=td - td % 2)
    check_data(raw, fid_path, "fid")
    return (raw[0::2] + 1j * raw[1::2]).astype(np.complex128)


def _read_ser(ser_path: Path, acqus: dict, acqu2s: dict) -> np.ndarray:
    td2 = int(_number(acqus, "TD", ser_path.parent / "acqus"))
    td1 = int(_number(acqu2s, "TD", ser_path.parent / "acqu2s"))
    dtype = _raw_dtype(acqus, "A", ser_path.parent / "acqus")
    # each FID in ser is padded to a multiple of 256 numbers
    row = -(-td2 // 256) * 256 if dtype.itemsize == 4 else -(-td2 // 128) * 128
    size = ser_path.stat().st_size
    rows = size // (row * dtype.itemsize)
    if rows < td1:
        raise IncompleteDataError(
            f"ser holds {rows} of the {td1} FIDs acqu2s TD announces: acquisition "
            "incomplete or file truncated", ser_path)
    raw = np.fromfile(ser_path, dtype=dtype, count=td1 * row).reshape(td1, row)[:, :td2]
    check_data(raw, ser_path, "ser")
    return (raw[:, 0::2] + 1j * raw[:, 1::2]).astype(np.complex128)


def _read_1r(procdir: Path, procs: dict) -> np.ndarray:
    si = int(_number(procs, "SI", procdir / "procs"))
    dtype = _raw_dtype(procs, "P", procdir / "procs")
    path = procdir / "1r"
    size = path.stat().st_size
    if size < si * dtype.itemsize:
        raise CorruptDataError(
            f"1r has {size} bytes but SI={si} needs {si * dtype.itemsize}", path)
    data = np.fromfile(path, dtype=dtype, count=si).astype(np.float64)
    check_data(data, path, "1r")
    if dtype.kind == "i":
        data *= 2.0 ** float(procs.get("NC_proc", 0))
    return data


def ppm_axis(procs: dict, size: int, where: Path) -> np.ndarray:
    """Ascending ppm axis of processed data from ``OFFSET``, ``SW_p``, ``SF``."""
    offset = float(_number(procs, "OFFSET", where))
    sw_p = float(_number(procs, "SW_p", where))
    sf = float(_number(procs, "SF", where))
    step = sw_p / sf / size
    # OFFSET is the left-most (highest) ppm; reverse to ascending
    return (offset - step * np.arange(size))[::-1]


# --- metadata -----------------------------------------------------------------------

def _nucleus(params: dict, key: str = "NUC1") -> str:
    nuc = str(params.get(key) or "").strip()
    return nuc if nuc and nuc.lower() != "off" else "1H"


def _title(procdir: Path | None) -> str | None:
    if procdir is None or not (procdir / "title").is_file():
        return None
    lines = (procdir / "title").read_text(encoding="latin-1", errors="replace").splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    return first or None


def _header(acqus: dict, procs: dict | None) -> dict:
    head = {k: acqus[k] for k in HEADER_KEYS if k in acqus}
    if procs:
        head.update({k: procs[k] for k in PROC_KEYS if k in procs})
    return head


#: procs ``SF`` further than this (relative) from acqus ``BF1`` belongs to another
#: experiment (another nucleus or magnet); operator referencing (SR) moves SF by a
#: few ppm, solid-state setups by some tens (alginate CP/MAS: 12.5 ppm).
MAX_SR_FRACTION = 1e-4


def _procs_belongs_to_acqus(acqus: dict, procs: dict, where: Path | None) -> bool:
    """False (with a warning) when procs' SF cannot be this acquisition's reference."""
    sf, bf1 = procs.get("SF"), acqus.get("BF1")
    if not acqus or not isinstance(sf, int | float) or not isinstance(bf1, int | float) \
            or bf1 <= 0 or abs(sf - bf1) <= MAX_SR_FRACTION * bf1:
        return True
    warnings.warn(f"{str(where) + ': ' if where else ''}SF={sf} MHz is not this acquisition's "
                  f"reference (acqus BF1={bf1} MHz): the processing parameters belong to "
                  "another experiment, so their phases and referencing are not used",
                  DataQualityWarning, stacklevel=4)
    return False


def _vendor_extras(acqus: dict, procs: dict | None, where: Path | None = None) -> dict:
    """Vendor phases and reference, in the keys processing looks for."""
    out: dict = {}
    if procs and _procs_belongs_to_acqus(acqus, procs, where):
        if isinstance(procs.get("PHC0"), int | float):
            out["vendor_phase_deg"] = {"p0": float(procs["PHC0"]),
                                       "p1": float(procs.get("PHC1", 0.0))}
        if isinstance(procs.get("SF"), int | float) and procs["SF"] > 0:
            out["vendor_reference"] = {
                "sf_mhz": float(procs["SF"]), "bf_mhz": float(acqus.get("BF1", procs["SF"])),
                "offset_ppm": _number(procs, "OFFSET", Path("procs"), required=False)}
    return out


# --- read -----------------------------------------------------------------------------

def read(path: str | Path) -> Dataset:
    """Read a Bruker experiment or processing folder.

    Returns
    -------
    Dataset
        One :class:`Fid` (1-D or 2-D) when raw data is present; otherwise one
        :class:`Spectrum` from ``pdata/N/1r``; a processed 2-D ``2rr`` without
        its ``ser`` is described only (no items).

    Raises
    ------
    CorruptDataError
        Parameter files missing or unreadable, or no data file at all.
    IncompleteDataError
        ``fid``/``ser`` shorter than the header says.
    """
    path = Path(path)
    exp, procdir = locate(path)
    if exp is None and procdir is None:
        raise CorruptDataError("not a Bruker experiment folder (no acqus or pdata/N/procs)",
                               path)
    acqus = parse_parameters(exp / "acqus") if exp is not None else {}
    procs = parse_parameters(procdir / "procs") if procdir is not None else None
    sha = hash_source(path)
    prov = Provenance(source=str(path), driver=NAME, sha256=sha)
    if exp is not None and (exp / "ser").is_file() and (exp / "acqu2s").is_file():
        return _read_2d(path, exp, procdir, acqus, procs, prov)
    if exp is not None and (exp / "fid").is_file():
        return _read_1d_fid(path, exp, procdir, acqus, procs, prov)
    if procdir is not None and (procdir / "1r").is_file():
        return _read_processed(path, procdir, acqus, procs, prov)
    if procdir is not None and (procdir / "2rr").is_file():
        return _describe_2rr(path, procdir, acqus, procs, sha)
    where = exp if exp is not None else procdir
    raise CorruptDataError(
        "Bruker folder without data: no fid, ser, pdata/N/1r or pdata/N/2rr next to "
        f"{'acqus' if exp is not None else 'procs'}", where)


def _common_meta(acqus: dict, procs: dict | None, procdir: Path | None) -> dict:
    meta = {"solvent": acqus.get("SOLVENT") or None,
            "pulse_program": acqus.get("PULPROG") or None,
            "name": _title(procdir)}
    if isinstance(acqus.get("TE"), int | float):
        meta["temperature_k"] = float(acqus["TE"])
    if isinstance(acqus.get("SFO1"), int | float):
        meta["spectrometer_frequency_mhz"] = float(acqus["SFO1"])
    if isinstance(acqus.get("DATE"), int) and acqus["DATE"] > 0:
        # DATE is seconds since the epoch (UTC)
        meta["acquired_at"] = datetime.fromtimestamp(acqus["DATE"], tz=UTC).isoformat()
    meta["vendor"] = {"acqus": acqus, "procs": procs or {}}
    meta.update(_vendor_extras(acqus, procs, procdir / "procs" if procdir else None))
    return {k: v for k, v in meta.items() if v is not None}


def _dataset(path, items, acqus, procs, dims, points, sha, extra=None) -> Dataset:
    first = items[0] if items else None
    meta = {"nucleus": _nucleus(acqus) if acqus else getattr(first, "nucleus", None),
            "spectrometer_frequency_mhz": acqus.get("SFO1") if acqus else (procs or {}).get("SF"),
            "points": points, "dimensions": dims, "solvent": acqus.get("SOLVENT") or None,
            "header": _header(acqus, procs)}
    meta.update(extra or {})
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=tuple(items),
                   metadata=meta, sha256=sha)


def _fid_params(acqus: dict, where: Path) -> dict:
    sfo1 = float(_number(acqus, "SFO1", where))
    bf1 = float(acqus.get("BF1") or sfo1)
    return {"sw_hz": float(_number(acqus, "SW_h", where)), "obs_mhz": sfo1,
            "carrier_ppm": (sfo1 - bf1) / bf1 * 1e6, "nucleus": _nucleus(acqus)}


def _read_1d_fid(path, exp, procdir, acqus, procs, prov) -> Dataset:
    data = _read_fid_1d(exp / "fid", acqus)
    meta = _common_meta(acqus, procs, procdir)
    fid = Fid(data=data, group_delay=group_delay(acqus, exp / "acqus"), metadata=meta,
              provenance=prov, **_fid_params(acqus, exp / "acqus"))
    return _dataset(path, [fid], acqus, procs, 1, int(acqus["TD"]), prov.sha256,
                    {"group_delay_points": fid.group_delay})


def _read_2d(path, exp, procdir, acqus, procs, prov) -> Dataset:
    acqu2s = parse_parameters(exp / "acqu2s")
    data = _read_ser(exp / "ser", acqus, acqu2s)
    meta = _common_meta(acqus, procs, procdir)
    indirect = {"nucleus": _nucleus(acqu2s), "points": int(acqu2s["TD"]),
                "sw_hz": acqu2s.get("SW_h"), "sw_ppm": acqu2s.get("SW"),
                "obs_mhz": acqu2s.get("SFO1"), "fn_mode": acqu2s.get("FnMODE")}
    if procdir is not None and (procdir / "proc2s").is_file():
        proc2s = parse_parameters(procdir / "proc2s")
        indirect["processed_points"] = proc2s.get("SI")
        indirect["offset_ppm"] = proc2s.get("OFFSET")
    meta["indirect"] = [indirect]
    fid = Fid(data=data, group_delay=group_delay(acqus, exp / "acqus"), metadata=meta,
              provenance=prov, **_fid_params(acqus, exp / "acqus"))
    return _dataset(path, [fid], acqus, procs, 2, int(acqus["TD"]), prov.sha256,
                    {"indirect": [indirect], "shape": list(data.shape)})


def _read_processed(path, procdir, acqus, procs, prov) -> Dataset:
    data = _read_1r(procdir, procs)
    axis = ppm_axis(procs, data.size, procdir / "procs")
    meta = _common_meta(acqus, procs, procdir)
    meta["spectrometer_frequency_mhz"] = float(acqus.get("SFO1") or procs["SF"])
    meta["referenced"] = "vendor"
    nucleus = _nucleus(acqus) if acqus else str(procs.get("AXNUC") or "1H")
    spec = Spectrum(axis=axis, intensities=data[::-1], unit="ppm", technique="nmr",
                    nucleus=nucleus, metadata=meta, provenance=prov)
    # README: for processed-only data ``points`` is the number of spectrum points
    return _dataset(path, [spec], acqus, procs, 1, data.size, prov.sha256)


def _describe_2rr(path, procdir, acqus, procs, sha) -> Dataset:
    proc2s = parse_parameters(procdir / "proc2s") if (procdir / "proc2s").is_file() else {}
    size = (procdir / "2rr").stat().st_size
    si2, si1 = procs.get("SI"), proc2s.get("SI")
    dtype = _raw_dtype(procs, "P", procdir / "procs")
    if isinstance(si1, int) and isinstance(si2, int) and size < si1 * si2 * dtype.itemsize:
        raise CorruptDataError(f"2rr has {size} bytes but SI {si1} x {si2} needs "
                               f"{si1 * si2 * dtype.itemsize}", procdir / "2rr")
    indirect = {"processed_points": si1, "offset_ppm": proc2s.get("OFFSET"),
                "sw_hz": proc2s.get("SW_p")}
    return _dataset(path, [], acqus, procs, 2, int(acqus.get("TD") or si2 or 0), sha,
                    {"indirect": [indirect], "data": "processed 2-D (2rr), described only"})


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="nmr",
    description="Bruker TopSpin/XWIN-NMR experiment folder (acqus + fid/ser/pdata)",
    extensions=()))
