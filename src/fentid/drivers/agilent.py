"""Agilent ChemStation / MassHunter ``.D`` folders (GC/MS and LC/MSD) via rainbow-api.

Format notes
------------
A ``.D`` folder is one injection. The files that matter here:

* ``data.ms`` (GC/MSD full scan) and ``dataSim.ms`` (SIM), or ``MSD1.MS``
  (LC/MSD): ChemStation MS files, big-endian. Each scan is a record with
  its time in ms, a pair count and (m/z x 20, encoded intensity) pairs of
  unsigned 16-bit big-endian words; the intensity word is a 2-bit exponent
  (powers of 8) and a 14-bit mantissa. m/z therefore lies on a 0.05 Da
  lattice (quadrupole data, centroided by the instrument firmware).
* ``*.ch`` (FID, ELSD, ADC, single-wavelength UV) and ``*.uv`` (DAD):
  other detectors. They are described in ``metadata["channels"]`` but not
  turned into items (no mass spectra).
* ``AcqData/`` (MassHunter): ``MSScan.bin``/``MSPeak.bin`` duplicate the
  scan data for GC/MSD runs acquired under MassHunter; ChemStation files
  are read when present.

Decoding is done by rainbow-api (``rainbow.read``), imported lazily.
rainbow returns MS as a dense (retention time x m/z bin) matrix in
*minutes*; we ask for a 0.05 Da bin (the format's own lattice, so no two
m/z values are merged), keep only the non-zero cells and convert times to
seconds, giving a centroided :class:`~fentid.spectra.model.Run` per MS file.
Each Run records its file in ``metadata["channel"]`` and
``metadata["acquisition_mode"]`` ("Scan" or "SIM"); full-scan runs come
first in ``Dataset.items``.

Vendor quirks: rainbow silently leaves out a file it cannot parse and raises
a bare ``Exception`` for an unreadable folder; both become
:class:`~fentid.errors.CorruptDataError` naming the file. A ``.D`` whose
MS data file is missing (MassHunter ``AcqData/MSScan.bin``, ``dataSim.ms``
or the LC/MSD ``MSPARMS.txt``/``MSACQINF.REG`` show that MS was acquired)
is reported as missing ``data.ms`` / ``MSD1.MS``.

Sources: rainbow-api documentation of the ``.ms`` format
(https://rainbow-api.readthedocs.io), Agilent ChemStation file layouts.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, FormatError
from fentid.spectra.model import Dataset, Provenance, Run, hash_source

NAME = "agilent"
#: m/z lattice of ChemStation .ms files (m/z stored as integer x 20).
AGILENT_MZ_STEP = 0.05
_DATA_SUFFIXES = (".ms", ".ch", ".uv")


def _listing(path: Path) -> dict[str, Path]:
    try:
        return {p.name.lower(): p for p in path.iterdir()}
    except OSError:
        return {}


def sniff(path: Path, head: bytes) -> bool:
    """A folder holding ChemStation data files (``*.ms``/``*.ch``/``*.uv``) or ``AcqData``.

    Waters ``.raw`` folders (``_FUNC*.DAT``) and NMR folders (Bruker
    ``acqus``, Spinsolve ``acqu.par``) never contain these names.
    """
    if not path.is_dir():
        return False
    names = _listing(path)
    if any(n.startswith("_func") or n in ("acqus", "acqu.par") for n in names):
        return False
    if "acqdata" in names and names["acqdata"].is_dir():
        return True
    return any(n.endswith(_DATA_SUFFIXES) and p.is_file() for n, p in names.items())


def _expected_ms_files(names: dict[str, Path]) -> list[str]:
    """Names of MS data files the folder's other contents say were acquired."""
    expected = []
    acq = names.get("acqdata")
    if "datasim.ms" in names or (acq is not None and (acq / "MSScan.bin").exists()):
        expected.append("data.ms")
    if "msparms.txt" in names or "msacqinf.reg" in names:
        expected.append("MSD1.MS")
    return expected


def read_rainbow(path: Path, vendor: str, bin_width: float):
    """Call ``rainbow.read`` and turn its failures into CorruptDataError."""
    try:
        import rainbow
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FormatError("reading vendor folders needs rainbow-api (pip install rainbow-api)",
                          path) from exc
    try:
        with warnings.catch_warnings():
            # rainbow warns when bin_width is finer than one run's grid; we ask for
            # the format's own lattice on purpose
            warnings.simplefilter("ignore", UserWarning)
            return rainbow.read(str(path), format=vendor, bin_width=bin_width)
    except Exception as exc:  # rainbow raises bare Exception for bad input
        raise CorruptDataError(f"rainbow-api cannot read this {vendor} folder (a data file "
                               f"truncated or corrupt?): {exc}", path) from exc


def matrix_to_run(datafile, path: Path, driver: str, sha: str, extra_meta: dict) -> Run:
    """Convert one rainbow MS DataFile (dense RT x m/z matrix, minutes) into a Run.

    Parameters
    ----------
    datafile : rainbow.DataFile
        ``xlabels`` retention times in minutes, ``ylabels`` bin centres in
        m/z, ``data`` intensities of shape (n_scans, n_bins).
    path, driver, sha
        Provenance of the folder.
    extra_meta : dict
        Run-level metadata (instrument, ionization, ...).
    """
    data = np.asarray(datafile.data)
    times = np.asarray(datafile.xlabels, dtype=np.float64) * 60.0
    mz_axis = np.asarray(datafile.ylabels, dtype=np.float64)
    if data.ndim != 2 or data.shape != (times.size, mz_axis.size):
        raise CorruptDataError(
            f"{datafile.name}: MS matrix shape {data.shape} does not match "
            f"{times.size} scans x {mz_axis.size} m/z", path)
    rows, cols = np.nonzero(data)  # row-major: grouped by scan, m/z ascending within
    offsets = np.zeros(times.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=times.size), out=offsets[1:])
    order = np.argsort(times, kind="stable")
    if np.any(order != np.arange(times.size)):
        raise CorruptDataError(f"{datafile.name}: retention times are not ascending", path)
    meta = dict(extra_meta)
    meta.update({"channel": datafile.name,
                 "acquisition_mode": datafile.metadata.get("acquisition_mode", "Scan")})
    if datafile.metadata.get("polarity"):
        meta["polarity"] = datafile.metadata["polarity"]
    if datafile.metadata.get("method"):
        meta["method"] = datafile.metadata["method"]
    return Run(retention_time_s=times, offsets=offsets, mz=mz_axis[cols],
               intensity=data[rows, cols].astype(np.float64), centroided=True,
               metadata={k: v for k, v in meta.items() if v},
               provenance=Provenance(source=str(path), driver=driver, sha256=sha,
                                     record=None))


def describe_channel(datafile) -> dict:
    """A non-MS detector (FID, ELSD, UV, CAD...) as a small dict for ``fentid info``."""
    meta = datafile.metadata
    return {"name": datafile.name, "detector": datafile.detector,
            "shape": list(np.asarray(datafile.data).shape),
            "unit": meta.get("unit"), "signal": meta.get("signal")}


def runs_and_channels(datadir, path: Path, driver: str, sha: str, extra_meta: dict):
    """Split rainbow datafiles into MS Runs (full scan first) and described channels."""
    runs, channels = [], []
    for df in datadir.datafiles:
        if df.detector == "MS":
            runs.append(matrix_to_run(df, path, driver, sha, extra_meta))
        else:
            channels.append(describe_channel(df))
    # rainbow keeps channels without a detector type (Waters analog inputs) apart
    known = {c["name"] for c in channels}
    channels.extend(describe_channel(df) for df in getattr(datadir, "analog", ())
                    if df.name not in known)
    runs.sort(key=lambda r: r.metadata.get("acquisition_mode") == "SIM")
    return runs, channels


def ms_file_summary(runs) -> list[dict]:
    """Per MS file: name, acquisition mode and scan count (``fentid info``)."""
    return [{"name": r.metadata["channel"], "acquisition_mode": r.metadata["acquisition_mode"],
             "n_scans": r.n_scans} for r in runs]


def read(path: Path) -> Dataset:
    """Read an Agilent ``.D`` folder: one :class:`Run` per MS file.

    Raises
    ------
    CorruptDataError
        MS data file missing or unreadable, or rainbow cannot read the folder.
    FormatError
        The folder holds no mass spectra at all (only FID/UV/ELSD traces).
    """
    path = Path(path)
    names = _listing(path)
    ms_present = [n for n in names if n.endswith(".ms")]
    missing = [m for m in _expected_ms_files(names) if m.lower() not in names
               and not (m == "MSD1.MS" and any(re.fullmatch(r"msd\d\.ms", n) for n in names))]
    if missing:
        raise CorruptDataError(
            f"MS data file {' and '.join(missing)} is missing from the .D folder "
            "(the method files show MS was acquired); copy the complete folder", path)
    datadir = read_rainbow(path, "agilent", AGILENT_MZ_STEP)
    parsed = {df.name.lower() for df in datadir.datafiles}
    unread = [names[n].name for n in ms_present if n not in parsed]
    if unread:
        raise CorruptDataError(
            f"MS data file {', '.join(unread)} cannot be parsed (truncated or corrupt?)", path)
    sha = hash_source(path)
    top = dict(datadir.metadata)
    extra = {"instrument": _instrument(datadir), "acquired_at": top.get("date"),
             "ionization": "EI" if top.get("technique") == "GC" else None,
             "vendor": "Agilent"}
    runs, channels = runs_and_channels(datadir, path, NAME, sha, extra)
    if not runs:
        raise FormatError(
            "Agilent .D folder holds no mass spectra (only "
            + ", ".join(f"{c['name']} ({c['detector']})" for c in channels) + ")", path)
    header = {k: str(v) for k, v in top.items()}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(runs),
                   metadata={"header": header, "channels": channels,
                             "ms_files": ms_file_summary(runs)},
                   sha256=sha)


def _instrument(datadir) -> str | None:
    for df in datadir.datafiles:
        inst = df.metadata.get("instrument")
        if inst:
            return str(inst)
    return None


register(Driver(NAME, sniff, read, "ms",
                "Agilent ChemStation/MassHunter .D folder (GC/MSD, LC/MSD)", (".d",)))
