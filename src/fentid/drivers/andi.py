"""ANDI-MS (AIA netCDF) GC/LC-MS runs.

Format notes
------------
ANDI-MS (ASTM E2078, "Analytical Data Interchange for Mass Spectrometry",
MS template 1.0.1) is a netCDF *classic* file (magic ``CDF\\x01``, or
``CDF\\x02`` for the 64-bit offset variant; big-endian, as every netCDF
classic file). Every GC-MS data system can export it (Agilent ChemStation
"Export to AIA", HP, Thermo Xcalibur, Shimadzu GCMSsolution), which makes it
the lingua franca of forensic GC-MS.

Layout used here (all read with :class:`scipy.io.netcdf_file`, ``mmap=False``
so the file is closed when we return):

* dimension ``scan_number``: one entry per scan in ``scan_acquisition_time``
  (seconds), ``scan_index`` (0-based start of the scan in the point arrays),
  ``point_count``, ``total_intensity`` (the vendor TIC), ``mass_range_min/max`` (the
  scanned m/z range: kept as the run's ``scan_range_mz`` when positive).
* dimension ``point_number``: ``mass_values`` (m/z) and ``intensity_values``,
  each possibly carrying ``scale_factor`` (and, for intensities,
  ``add_offset``) attributes that must be applied.
* global attributes: ``experiment_type`` ("Centroided Mass Spectrum" or
  "Continuum Mass Spectrum"), ``test_ionization_mode``,
  ``test_ionization_polarity``, ``experiment_title``, ``operator_name``,
  ``experiment_date_time_stamp``; ``instrument_*`` variables are 32-byte
  char arrays (NUL/space padded).

Vendor quirks: HP/Agilent exports state ``test_separation_type = No
Chromatography`` even for GC runs; ``time_values`` is usually present but
meaningless (we ignore it); string attributes are space padded.

The AIA *chromatography* template (``aia_template_revision``,
``ordinate_values``: e.g. an HPLC-DAD trace) is a netCDF file of the same
family without any mass spectra. This driver claims it too, so the user
gets a precise answer instead of "unknown format": :func:`read` raises
:class:`~fentid.errors.FormatError` naming the detector and saying that no
mass spectra are present. Any other netCDF file is claimed and rejected with
the list of ANDI-MS variables it lacks.

Sources: ASTM E2078-00 / E1947 (AIA chromatography); netcdfjs and
chromConverter test files (see ``formats/index.csv``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, FentidError, FormatError
from fentid.spectra.model import Dataset, Provenance, Run, hash_source

NAME = "andi"
#: Variables an ANDI-MS file must have for us to build a Run.
REQUIRED = ("scan_acquisition_time", "scan_index", "point_count", "mass_values",
            "intensity_values")
_MAGICS = (b"CDF\x01", b"CDF\x02")


def sniff(path: Path, head: bytes) -> bool:
    """Any netCDF classic file (ANDI-MS, AIA chromatography or other netCDF)."""
    return head[:4] in _MAGICS


def _text(value) -> str | None:
    """Decode a netCDF char attribute/variable, stripping NUL and space padding."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _scaled(var) -> np.ndarray:
    """Variable data as float64 with ``scale_factor``/``add_offset`` applied."""
    data = np.array(var.data, dtype=np.float64)  # copy: file is closed afterwards
    attrs = getattr(var, "_attributes", {})
    scale = float(np.ravel(attrs.get("scale_factor", 1.0))[0])
    offset = float(np.ravel(attrs.get("add_offset", 0.0))[0])
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are refused later
        if scale != 1.0:
            data *= scale
        if offset != 0.0:
            data += offset
    return data


def _open(path: Path):
    from scipy.io import netcdf_file

    try:
        return netcdf_file(str(path), "r", mmap=False)
    except (ValueError, TypeError, OSError, IndexError, EOFError) as exc:
        raise CorruptDataError(f"netCDF file cannot be parsed (truncated or corrupt?): {exc}",
                               path) from exc


def read(path: Path) -> Dataset:
    """Read an ANDI-MS netCDF file into a Dataset holding one :class:`Run`.

    Parameters
    ----------
    path : Path
        The ``.cdf`` file.

    Returns
    -------
    Dataset
        ``items == (Run,)`` with retention times in seconds; metadata has
        ``n_scans``, ``n_points``, ``centroided`` and the global attributes
        under ``header``; the Run carries ``ionization``, ``instrument``,
        ``polarity``, ``experiment_title``, ``acquired_at``.

    Raises
    ------
    FormatError
        AIA chromatography (no mass spectra) or another netCDF file.
    CorruptDataError
        Truncated file, inconsistent scan index, non-finite values.
    """
    path = Path(path)
    nc = _open(path)
    try:
        attrs = {k: _text(v) if isinstance(v, bytes | str) else v
                 for k, v in nc._attributes.items()}
        variables = nc.variables
        missing = [name for name in REQUIRED if name not in variables]
        if missing:
            _reject_non_ms(path, attrs, variables, missing)
        rt = np.array(variables["scan_acquisition_time"].data, dtype=np.float64)
        start = np.array(variables["scan_index"].data, dtype=np.int64)
        count = np.array(variables["point_count"].data, dtype=np.int64)
        mz = _scaled(variables["mass_values"])
        inten = _scaled(variables["intensity_values"])
        instrument = {k: _text(variables[k].data) for k in
                      ("instrument_name", "instrument_mfr", "instrument_model")
                      if k in variables}
        scan_range = _scan_range(variables)
    except FentidError:
        raise
    except (ValueError, TypeError, IndexError, EOFError) as exc:
        raise CorruptDataError(f"ANDI-MS variables cannot be read: {exc}", path) from exc
    finally:
        nc.close()
    offsets, mz, inten = _pack_scans(path, rt, start, count, mz, inten)
    sha = hash_source(path)
    ionization = attrs.get("test_ionization_mode")
    inst_text = " ".join(v for v in (instrument.get("instrument_mfr"),
                                     instrument.get("instrument_model"),
                                     instrument.get("instrument_name")) if v) or None
    centroided = "continuum" not in (attrs.get("experiment_type") or "").lower()
    meta = {
        "ionization": _ionization_code(ionization),
        "ionization_mode": ionization,
        "polarity": _polarity(attrs.get("test_ionization_polarity")),
        "instrument": inst_text,
        "experiment_title": attrs.get("experiment_title"),
        "acquired_at": attrs.get("experiment_date_time_stamp"),
        "scan_range_mz": scan_range,
    }
    run = Run(retention_time_s=rt, offsets=offsets, mz=mz, intensity=inten,
              centroided=centroided, metadata={k: v for k, v in meta.items() if v},
              provenance=Provenance(source=str(path), driver=NAME, sha256=sha))
    header = {k: (v if isinstance(v, str | int | float) else str(v))
              for k, v in attrs.items() if v is not None}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=(run,),
                   metadata={"header": header, "n_scans": int(rt.size),
                             "n_points": int(mz.size), "centroided": centroided},
                   sha256=sha)


def _scan_range(variables) -> tuple[float, float] | None:
    """The m/z range the run scanned (``mass_range_min/max`` over its scans), or None when
    the file does not record one (the variables are optional; HP/Agilent exports fill the
    minimum with 0, which says nothing)."""
    if "mass_range_min" not in variables or "mass_range_max" not in variables:
        return None
    low = _scaled(variables["mass_range_min"])
    high = _scaled(variables["mass_range_max"])
    ok = np.isfinite(low) & np.isfinite(high) & (high > low) & (low > 0)
    if not ok.any():
        return None
    return float(low[ok].min()), float(high[ok].max())


def _reject_non_ms(path, attrs, variables, missing) -> None:
    """Raise the FormatError that says what this netCDF file is instead."""
    if "ordinate_values" in variables or attrs.get("aia_template_revision"):
        detector = attrs.get("detector_name") or "unknown detector"
        n = int(np.asarray(variables["ordinate_values"].data).size) \
            if "ordinate_values" in variables else 0
        kind = attrs.get("separation_experiment_type") or "chromatography"
        raise FormatError(
            f"AIA chromatogram ({kind}, detector {detector!r}, {n} points) holds no mass "
            "spectra (no ANDI-MS mass_values/intensity_values); fentid reads ANDI-MS "
            "netCDF only - export the run's MS data instead", path)
    raise FormatError(
        "netCDF file is not ANDI-MS: missing variable(s) " + ", ".join(missing), path)


def _pack_scans(path, rt, start, count, mz, inten):
    """Check the scan index and return (offsets, mz, intensity), one block per scan.

    ANDI files are normally contiguous (scan_index[i+1] == scan_index[i] +
    point_count[i]); when they are not, the points are gathered in scan order.
    """
    n = rt.size
    if start.shape != (n,) or count.shape != (n,):
        raise CorruptDataError(
            f"scan_index/point_count have {start.size}/{count.size} entries for {n} scans",
            path)
    if mz.shape != inten.shape:
        raise CorruptDataError(
            f"mass_values has {mz.size} points but intensity_values has {inten.size}", path)
    if np.any(count < 0) or np.any(start < 0) or np.any(start + count > mz.size):
        raise CorruptDataError(
            f"scan_index/point_count point outside the {mz.size} stored points "
            "(file truncated?)", path)
    if not (np.all(np.isfinite(rt)) and np.all(np.isfinite(mz)) and np.all(np.isfinite(inten))):
        raise CorruptDataError("non-finite retention time, m/z or intensity values", path)
    if n > 1 and np.any(np.diff(rt) < 0):
        raise CorruptDataError("scan_acquisition_time is not non-decreasing", path)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    unowned = _unowned_points(start, count, offsets, mz.size)
    if unowned > 0:
        warnings.warn(f"{path}: {unowned} of the {mz.size} stored points belong to no scan "
                      "(scan_index/point_count do not cover them); they are not read",
                      DataQualityWarning, stacklevel=3)
    if not np.array_equal(start, offsets[:-1]):
        idx = np.concatenate([np.arange(s, s + c) for s, c in zip(start, count, strict=True)]) \
            if n else np.zeros(0, np.int64)
        mz, inten = mz[idx], inten[idx]
    else:
        mz, inten = mz[:offsets[-1]], inten[:offsets[-1]]
    mz, inten = _sort_within_scans(offsets, mz, inten)
    return offsets, mz, inten


def _unowned_points(start, count, offsets, n_stored: int) -> int:
    """Stored points that no scan's (scan_index, point_count) range covers."""
    if np.array_equal(start, offsets[:-1]):
        return n_stored - int(offsets[-1])
    covered = np.zeros(n_stored, dtype=bool)
    for s0, c in zip(start, count, strict=True):
        covered[s0:s0 + c] = True
    return int(n_stored - covered.sum())


def _sort_within_scans(offsets, mz, inten):
    """Sort m/z ascending inside each scan (some exporters write scans descending)."""
    if mz.size < 2:
        return mz, inten
    scan_id = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    bad = (np.diff(mz) < 0) & (scan_id[1:] == scan_id[:-1])
    if not bad.any():
        return mz, inten
    order = np.lexsort((mz, scan_id))
    return mz[order], inten[order]


def _ionization_code(mode: str | None) -> str | None:
    if not mode:
        return None
    low = mode.lower()
    for key, code in (("electron", "EI"), ("chemical", "CI"), ("electrospray", "ESI"),
                      ("field", "FI"), ("fast atom", "FAB")):
        if key in low:
            return code
    return mode


def _polarity(text: str | None) -> str | None:
    if not text:
        return None
    low = text.lower()
    return "+" if "pos" in low else "-" if "neg" in low else None


register(Driver(NAME, sniff, read, "ms",
                "ANDI-MS / AIA netCDF (GC/LC-MS export)", (".cdf", ".nc")))
