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
  are read when present. A MassHunter (Q-)TOF ``.D`` has no ChemStation file:
  ``MSScan.bin`` (scan records: time, point count, offset into the profile)
  + ``MSProfile.bin`` (per scan two doubles, first flight time and step, then
  LZF- or run-length-compressed uint32 intensities) + ``MSMassCal.bin`` /
  ``DefaultMassCal.xml`` (the flight-time to m/z calibration per scan). It is
  read with ``rainbow.agilent.masshunter.parse_msdata`` in its per-scan form
  (no shared m/z grid, so nothing is binned or merged): one profile
  :class:`~fentid.spectra.model.Run` per flight-time grid, each scan's
  calibrated m/z and raw intensities as stored. rainbow keeps the complete
  prefix of an interrupted acquisition (``MSScan.bin`` listing scans
  ``MSProfile.bin`` lacks) without saying so; we compare the record count
  and warn. MassHunter centroid-only data (``MSPeak.bin`` without a
  ChemStation file or ``MSProfile.bin``) is refused with the conversion route.
* A ChemStation ``.MS`` file on its own (copied out of its ``.D``; header
  ``01 32 00 00`` then "GC / MS Data File" or "MSD Spectral File") is read
  like the one in a folder (``rainbow.agilent.chemstation.parse_ms``).

Decoding is done by rainbow-api (``rainbow.read``), imported lazily.
rainbow returns MS as a dense (retention time x m/z bin) matrix in
*minutes*; we ask for a 0.05 Da bin (the format's own lattice, so no two
m/z values are merged), keep only the non-zero cells and convert times to
seconds, giving a centroided :class:`~fentid.spectra.model.Run` per MS file.
Each Run records its file in ``metadata["channel"]`` and
``metadata["acquisition_mode"]`` ("Scan" or "SIM"); full-scan runs come
first in ``Dataset.items``.

Half-written runs: ChemStation writes a ``.ms`` file's data offset (header word
0x10A) and its scan count (0x116 big-endian for LC/MSD, 0x142 little-endian for
GC/MSD) when the run ends; rainbow reads a file without them as a "partial" LC file
and returns the scans so far without saying so. :func:`ms_file_incomplete` checks
both and walks the scan records (each: 2 + 4 (time, ms) + 6 + 2 (pair count) + 4 +
4 per pair + 10 bytes) to see that the file holds every scan its header counts. A
MassHunter ``AcqData/Contents.xml`` records ``AcqStatus`` (0 init, 1 start, 2 end).
A run whose end is not recorded, or whose ``.ms`` file ends inside its scans, raises
:class:`~fentid.errors.TruncatedDataError` (an ``IncompleteDataError``: the
watch-folder service retries it), never a Run of the scans written so far.

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
import struct
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers.registry import Driver, register
from fentid.errors import (
    CorruptDataError,
    DataQualityWarning,
    FormatError,
    IncompleteDataError,
    TruncatedDataError,
)
from fentid.spectra.model import Dataset, Provenance, Run, hash_source

NAME = "agilent"
#: m/z lattice of ChemStation .ms files (m/z stored as integer x 20).
AGILENT_MZ_STEP = 0.05
_DATA_SUFFIXES = (".ms", ".ch", ".uv")
#: Start of a ChemStation MS file: magic, then a Pascal string naming the file type.
_MS_MAGIC = b"\x01\x32\x00\x00"
_MS_FILE_TYPES = (b"GC / MS Data File", b"MSD Spectral File")


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
        return is_chemstation_ms(head)
    names = _listing(path)
    if any(n.startswith("_func") or n in ("acqus", "acqu.par") for n in names):
        return False
    if "acqdata" in names and names["acqdata"].is_dir():
        return True
    return any(n.endswith(_DATA_SUFFIXES) and p.is_file() for n, p in names.items())


def is_chemstation_ms(head: bytes) -> bool:
    """A ChemStation MS data file: ``01 32 00 00`` then its Pascal-string file type."""
    if not head.startswith(_MS_MAGIC) or len(head) < 6:
        return False
    kind = head[5:5 + head[4]]
    return kind in _MS_FILE_TYPES


#: ChemStation .ms header: data start (16-bit words, big-endian), scan counts.
_MS_DATA_START, _MS_LC_COUNT, _MS_GC_COUNT = 0x10A, 0x116, 0x142
#: Bytes of a scan record around its (m/z, intensity) pairs, and before its pair count.
_SCAN_OVERHEAD, _PAIR_COUNT_AT = 28, 12


def ms_file_incomplete(path: Path) -> str | None:
    """Why a ChemStation ``.ms`` file is not a finished run, or None when it is.

    Cheap: reads the header and one 16-bit pair count per scan.

    Parameters
    ----------
    path : Path
        A ``data.ms``, ``dataSim.ms`` or ``MSD1.MS`` file.
    """
    with open(path, "rb") as fh:
        head = fh.read(0x200)
        size = fh.seek(0, 2)
        if len(head) < 0x144:
            return f"{path.name} holds only {len(head)} bytes (no complete header yet)"
        if not head.startswith(_MS_MAGIC):
            return f"{path.name} has no ChemStation header yet (the run has not ended)"
        start = struct.unpack_from(">H", head, _MS_DATA_START)[0]
        if head[5:5 + head[4]] == b"MSD Spectral File":
            count = struct.unpack_from(">I", head, _MS_LC_COUNT)[0]
        else:
            count = struct.unpack_from("<H", head, _MS_GC_COUNT)[0]
        if start == 0 or count == 0:
            return (f"{path.name}: the header does not record the run's end yet (data offset "
                    f"{start}, {count} scans)")
        pos = start * 2 - 2
        for k in range(count):
            fh.seek(pos + _PAIR_COUNT_AT)
            raw = fh.read(2)
            if len(raw) < 2:
                return f"{path.name} ends inside scan {k + 1} of the {count} its header lists"
            pos += _SCAN_OVERHEAD + 4 * struct.unpack(">H", raw)[0]
            if pos > size:
                return f"{path.name} ends inside scan {k + 1} of the {count} its header lists"
    return None


def masshunter_incomplete(folder: Path) -> str | None:
    """Why a MassHunter acquisition has not ended (``AcqData/Contents.xml`` AcqStatus is
    not 2), or None (ended, or no Contents.xml to say)."""
    contents = folder / "AcqData" / "Contents.xml"
    if not contents.is_file():
        return None
    text = contents.read_bytes().decode("utf-8", "replace")
    match = re.search(r"<AcqStatus>\s*(\d+)\s*</AcqStatus>", text)
    if match is None:
        return "AcqData/Contents.xml does not record the acquisition status yet"
    status = int(match.group(1))
    if status != 2:
        word = {0: "Init", 1: "Start"}.get(status, "unknown")
        return f"the acquisition has not ended (AcqData/Contents.xml AcqStatus={status}, {word})"
    return None


def run_incomplete(path: Path) -> str | None:
    """Why the ``.D`` folder (or lone ``.ms`` file) ``path`` is not a finished run, or None."""
    path = Path(path)
    if path.is_file():
        return ms_file_incomplete(path)
    names = _listing(path)
    reason = masshunter_incomplete(path)
    if reason:
        return reason
    for name in sorted(n for n in names if n.endswith(".ms")):
        reason = ms_file_incomplete(names[name])
        if reason:
            return reason
    return None


def _check_finished(path: Path) -> None:
    """Raise the IncompleteDataError saying why ``path`` is not a finished run."""
    reason = run_incomplete(path)
    if reason is None:
        return
    if "ends inside" in reason or "no complete header" in reason:
        raise TruncatedDataError(f"{reason}: still being written, or truncated", path)
    raise IncompleteDataError(f"{reason}: still being written? (retry when it has ended)",
                              path)


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
    return call_rainbow(lambda: rainbow.read(str(path), format=vendor, bin_width=bin_width),
                        path, f"rainbow-api cannot read this {vendor} folder (a data file "
                              "truncated or corrupt?)")


def call_rainbow(fn, path: Path, failure: str):
    """Run a rainbow-api parser: its failures become one CorruptDataError, its numpy warnings
    one DataQualityWarning.

    rainbow raises bare ``Exception``, ``AssertionError`` without a message,
    ``struct.error``... for damaged files, and numpy warns "overflow
    encountered" / "invalid value encountered" while it decodes garbage; a
    user must see neither raw. Its UserWarnings about bin widths finer than a
    run's grid are dropped (we ask for the format's own lattice on purpose).

    Parameters
    ----------
    fn : callable
        The parser call.
    path : Path
        The file or folder, for messages.
    failure : str
        Start of the error message when ``fn`` raises.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as exc:  # rainbow raises bare Exception for bad input
            raise CorruptDataError(f"{failure}: {_reason(exc)}", path) from exc
    numeric = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    if numeric:
        warnings.warn(f"{path}: decoding met numeric faults ({'; '.join(numeric)}): the data "
                      "file may be damaged, check the values", DataQualityWarning, stacklevel=3)
    for text in dict.fromkeys(str(w.message) for w in caught
                              if issubclass(w.category, UserWarning)):
        # what rainbow could not read ("describes 4 signals but only 2 could be read") is
        # data lost and must reach the user; its notes on our own choices are not
        if not any(note in text for note in _RAINBOW_NOTES):
            warnings.warn(f"{path}: rainbow-api: {text}", DataQualityWarning, stacklevel=3)
    return result


#: rainbow-api warnings about choices fentid makes on purpose (not about the data).
_RAINBOW_NOTES = ("is finer than the m/z grid", "does not read integrated peaks")


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
    if times.size and not data.any():
        # real scans always hold some ion current; all zeros is a zeroed or damaged file
        warnings.warn(f"{path}: {datafile.name}: all {times.size} scans are empty (not one "
                      "non-zero intensity): the data file is probably zeroed or damaged",
                      DataQualityWarning, stacklevel=3)
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
    if path.is_file():
        return read_ms_file(path)
    names = _listing(path)
    ms_present = [n for n in names if n.endswith(".ms")]
    if not ms_present and _masshunter_files(names):
        return read_masshunter(path, names)
    missing = [m for m in _expected_ms_files(names) if m.lower() not in names
               and not (m == "MSD1.MS" and any(re.fullmatch(r"msd\d\.ms", n) for n in names))]
    if missing:
        raise CorruptDataError(
            f"MS data file {' and '.join(missing)} is missing from the .D folder "
            "(the method files show MS was acquired); copy the complete folder", path)
    _check_finished(path)
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


def read_ms_file(path: Path) -> Dataset:
    """Read a lone ChemStation ``.MS`` file (outside its ``.D`` folder) as one Run.

    Raises
    ------
    CorruptDataError
        rainbow cannot parse it (truncated or corrupt).
    """
    from rainbow.agilent import chemstation

    reason = ms_file_incomplete(path)
    if reason is not None:
        raise TruncatedDataError(f"ChemStation MS file cannot be parsed: {reason} (still "
                                 "being written, or truncated)", path)
    datafile = call_rainbow(lambda: chemstation.parse_ms(str(path), bin_width=AGILENT_MZ_STEP),
                            path, "ChemStation MS file cannot be parsed (truncated or corrupt?)")
    if datafile is None:
        raise CorruptDataError("ChemStation MS file cannot be parsed (rainbow-api returned "
                               "nothing: truncated or corrupt?)", path)
    sha = hash_source(path)
    with open(path, "rb") as fh:
        kind = "LC" if b"MSD Spectral File" in fh.read(32) else "GC"
    extra = {"instrument": datafile.metadata.get("instrument"),
             "acquired_at": datafile.metadata.get("date"),
             "ionization": "EI" if kind == "GC" else None, "vendor": "Agilent"}
    run = matrix_to_run(datafile, path, NAME, sha, extra)
    header = {k: str(v) for k, v in datafile.metadata.items()}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=(run,),
                   metadata={"header": header, "channels": [], "ms_files": ms_file_summary([run]),
                             "file_type": "ChemStation MS file (outside a .D folder)"},
                   sha256=sha)


def _reason(exc: BaseException) -> str:
    """An exception as ``Type: message``, never an empty reason."""
    text = " ".join(str(exc).split())
    if text:
        return f"{type(exc).__name__}: {text}"
    if isinstance(exc, AssertionError):
        return "AssertionError (a consistency check inside rainbow-api failed)"
    return f"{type(exc).__name__} (no message)"


def _masshunter_files(names: dict[str, Path]) -> dict[str, Path]:
    """``AcqData`` MassHunter MS files present (lower-case name -> path)."""
    acq = names.get("acqdata")
    if acq is None or not acq.is_dir():
        return {}
    found = {p.name.lower(): p for p in acq.iterdir()}
    return {n: p for n, p in found.items() if n in ("msscan.bin", "msprofile.bin", "mspeak.bin")}


def read_masshunter(path: Path, names: dict[str, Path]) -> Dataset:
    """Read a MassHunter ``.D`` without ChemStation files: profile Runs from MSProfile.bin.

    Raises
    ------
    FormatError
        Only centroid data (``MSPeak.bin``): not read, with the conversion route.
    CorruptDataError
        ``MSScan.bin`` missing, or rainbow cannot decode the profile.
    """
    _check_finished(path)
    files = _masshunter_files(names)
    acq = names["acqdata"]
    if "msscan.bin" not in files:
        raise CorruptDataError("MassHunter AcqData has no MSScan.bin (the scan index): copy "
                               "the complete .D folder", path)
    if "msprofile.bin" not in files:
        raise FormatError("MassHunter centroid data (AcqData/MSPeak.bin) without profile or "
                          "ChemStation data is not read; export the run to mzML (MassHunter "
                          "Qualitative Analysis or msconvert) and read that", path)
    from rainbow.agilent import masshunter

    profiles = call_rainbow(lambda: masshunter.parse_msdata(str(acq)), path,
                            "rainbow-api cannot read the MassHunter profile data "
                            "(AcqData/MSProfile.bin)")
    listed = _listed_scans(masshunter, acq)
    sha = hash_source(path)
    extra = {"vendor": "Agilent", "instrument": None, "ionization": None}
    runs = [_profile_run(p, k, len(profiles), path, sha, extra) for k, p in enumerate(profiles)]
    read_scans = sum(r.n_scans for r in runs)
    if listed is not None and read_scans < listed:
        warnings.warn(f"{path}: AcqData/MSScan.bin lists {listed} scans but MSProfile.bin holds "
                      f"only {read_scans} complete ones (acquisition interrupted or file "
                      f"truncated); the last {listed - read_scans} are missing",
                      DataQualityWarning, stacklevel=3)
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(runs),
                   metadata={"header": {"vendor": "Agilent", "format": "MassHunter"},
                             "channels": [], "ms_files": ms_file_summary(runs),
                             "scans_listed": listed},
                   sha256=sha)


def _listed_scans(masshunter, acq: Path) -> int | None:
    """How many scan records ``MSScan.bin`` holds (None when it cannot be counted)."""
    try:
        types = masshunter.parse_scan_xsd(str(acq / "MSScan.xsd"))
        return len(masshunter.read_scan_records(str(acq / "MSScan.bin"), types,
                                                masshunter.count_scans(str(acq))))
    except Exception:  # noqa: BLE001 - only used to detect a truncated profile
        return None


def _profile_run(profile, k: int, n_grids: int, path: Path, sha: str, extra: dict) -> Run:
    """One rainbow ProfileDataFile (per-scan calibrated m/z) as a profile Run."""
    data = np.asarray(profile.data)
    times = np.asarray(profile.xlabels, dtype=np.float64) * 60.0
    if data.ndim != 2 or data.shape[0] != times.size:
        raise CorruptDataError(f"MSProfile.bin: profile shape {data.shape} does not match "
                               f"{times.size} scans", path)
    mz = np.concatenate([np.asarray(profile.mass_labels(i), dtype=np.float64)
                         for i in range(times.size)]) if times.size else np.empty(0)
    offsets = np.arange(times.size + 1, dtype=np.int64) * data.shape[1]
    name = profile.name if n_grids == 1 else f"{profile.name} (grid {k + 1})"
    meta = {k2: v for k2, v in extra.items() if v}
    meta.update({"channel": name, "acquisition_mode": "Scan", "name": name})
    return Run(retention_time_s=times, offsets=offsets, mz=mz,
               intensity=data.astype(np.float64).ravel(), centroided=False, metadata=meta,
               provenance=Provenance(source=str(path), driver=NAME, sha256=sha))


def _instrument(datadir) -> str | None:
    for df in datadir.datafiles:
        inst = df.metadata.get("instrument")
        if inst:
            return str(inst)
    return None


register(Driver(NAME, sniff, read, "ms",
                "Agilent ChemStation/MassHunter .D folder (GC/MSD, LC/MSD, Q-TOF profile) "
                "or ChemStation .MS file", (".d", ".ms")))
