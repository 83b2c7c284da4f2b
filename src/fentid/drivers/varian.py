"""Agilent/Varian VnmrJ (VNMR) ``.fid`` directories.

Format notes
------------
Layout
    An experiment is a directory (conventionally ``name.fid``) holding
    ``fid`` (binary data), ``procpar`` (every acquisition and processing
    parameter as text), and usually ``text`` (the operator's title), ``log``
    and pulse-sequence files. The directory, or its ``fid``/``procpar`` file,
    may be given. Copies through case-insensitive systems come back as
    ``FID``/``PROCPAR``/``TEXT``: file names are matched without case.
``fid``
    Big-endian throughout. A 32-byte file header (``nblocks``, ``ntraces``,
    ``np``, ``ebytes``, ``tbytes``, ``bbytes`` as int32, ``vers_id``,
    ``status`` as int16, ``nbheaders`` as int32) is followed by ``nblocks``
    blocks of ``bbytes`` bytes: ``nbheaders`` 28-byte block headers, then
    ``ntraces`` traces of ``np`` values (int16, int32 or float32 according
    to the status bits), real and imaginary interleaved. The file size must
    therefore be ``32 + nblocks * bbytes``; anything shorter is a truncated
    (or still-being-written) acquisition and is refused here before nmrglue
    reads it, because nmrglue reports it as a bare broadcasting error. It raises
    :class:`~fentid.errors.TruncatedDataError` (an ``IncompleteDataError``: the
    watch-folder service retries it).
``procpar``
    One parameter per entry (name line, value line(s), enumeration line);
    parsed with :func:`nmrglue.varian.read_procpar`. Numbers may be written
    with exponents (serum_1.fid's first line: ``is 1 1 1000000000 1e-06 0 4
    1 3 1 64``). A procpar ``np`` that disagrees with the fid header is
    warned about (the fid's count is read). Key parameters:
    ``tn`` observe nucleus (``H1``, ``C13``), ``sfrq`` observe frequency (MHz),
    ``sw`` spectral width (Hz), ``np`` number of *values* (real + imaginary,
    so ``np = 2 x`` complex points; this is what ``points`` reports, like
    Bruker ``TD``), ``nt`` scans, ``solvent``, ``rp``/``lp`` the operator's
    zero/first-order phases (degrees), ``rfl``/``rfp`` the referencing (Hz).
Referencing
    VnmrJ places the reference line ``rfp`` (Hz, i.e. ppm x ``sfrq``) at
    ``rfl`` Hz from the right-hand (low-frequency) edge of the spectrum, so
    the right edge is at ``(rfp - rfl) / sfrq`` ppm and the centre (our
    ``carrier_ppm``) at ``(rfp - rfl + sw / 2) / sfrq`` ppm.
Conventions
    fentid's ``Fid`` convention is Bruker's (``fftshift(fft(fid))`` runs from
    low to high ppm); VnmrJ data are the mirror image (nmrglue's "NMR order"),
    so they are conjugated on reading. On the conjugated data VnmrJ's
    ``rp``/``lp`` become TopSpin-convention phases ``p0 = -rp``, ``p1 = -lp``
    (see :func:`fentid.spectra.nmr_phase.phase_factor`); that is what
    ``metadata["vendor_phase_deg"]`` holds (checked on all four samples:
    positive absorptive lines). The verbatim ``rp``/``lp`` are in ``header``.
    The carrier computed from ``rfl``/``rfp`` (or, without them, from
    ``reffrq``, the 0-ppm frequency) is already referenced, so
    ``metadata["referenced"] = "vendor"``; with neither the carrier is ``tof``
    on the spectrometer's scale and referencing is left to processing.
Sources
    OpenVnmrJ user guide "VnmrJ data format" (file and block headers);
    cheminfo/varian-converter (readFileHeader/readBlock tests); nmrglue
    ``fileio/varian.py``.
"""

from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, TruncatedDataError
from fentid.spectra.model import Dataset, Fid, Provenance, hash_source

NAME = "varian"
FILE_HEADER = struct.Struct(">6i2hi")  # nblocks ntraces np ebytes tbytes bbytes vers status nbh
HEADER_KEYS = ("tn", "dn", "sfrq", "dfrq", "sw", "np", "nt", "at", "d1", "pw", "seqfil",
               "solvent", "temp", "console", "date", "rp", "lp", "rfl", "rfp", "reffrq",
               "tof", "ni", "arraydim", "gain")


def _experiment_dir(path: Path) -> Path:
    """The ``.fid`` directory for a directory or one of its ``fid``/``procpar`` files."""
    if path.is_file() and path.name.lower() in ("fid", "procpar"):
        return path.parent
    return path


def _member(folder: Path, name: str) -> Path:
    """``folder/name``, or the file whose name is ``name`` in another case (``FID``, ``PROCPAR``).

    VnmrJ writes lower case; copies through case-insensitive file systems or
    old archives come back upper case.  The exact name wins when both exist.
    """
    exact = folder / name
    if exact.is_file():
        return exact
    try:
        for entry in folder.iterdir():
            if entry.name.lower() == name and entry.is_file():
                return entry
    except OSError:
        pass
    return exact


#: A procpar number: integer or real, with an optional exponent (``1e-06``, ``1000000000``).
_PROCPAR_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def sniff(path: Path, head: bytes) -> bool:
    """True for a directory (or its ``fid``/``procpar``) that holds a VnmrJ ``procpar``.

    ``procpar`` starts with a parameter line ``name subtype basictype maxvalue
    minvalue stepsize Ggroup Dgroup protection active intptr``: a name and ten
    numbers, which may be written with exponents (serum_1.fid: ``is 1 1
    1000000000 1e-06 0 4 1 3 1 64``).  Bruker folders have ``acqus`` instead.
    """
    folder = _experiment_dir(path)
    if not folder.is_dir():
        return False
    procpar = _member(folder, "procpar")
    if not procpar.is_file():
        return False
    with open(procpar, "rb") as fh:
        first = fh.readline(200).split()
    return (len(first) >= 11 and not _PROCPAR_NUMBER.fullmatch(first[0])
            and all(_PROCPAR_NUMBER.fullmatch(tok) for tok in first[1:]))


def nucleus_name(tn: str) -> str:
    """Convert a VnmrJ nucleus (``H1``, ``C13``, ``F19``) to ``1H``, ``13C``, ``19F``."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", tn.strip())
    if not match:
        return tn.strip()
    return f"{match.group(2)}{match.group(1).capitalize()}"


def _value(procpar: dict, key: str, default=None):
    """First value of a procpar parameter, converted to float when it is numeric."""
    entry = procpar.get(key)
    if not entry or not entry.get("values"):
        return default
    raw = entry["values"][0]
    if entry.get("basictype") == "1":  # real-valued parameter
        try:
            return float(raw)
        except ValueError:
            return default
    return raw


def _check_fid_size(fid_path: Path) -> dict:
    """Read the 32-byte file header and check the file holds every block it promises."""
    size = fid_path.stat().st_size
    if size < FILE_HEADER.size:
        raise CorruptDataError(
            f"fid is {size} bytes, shorter than the 32-byte VnmrJ file header", fid_path)
    with open(fid_path, "rb") as fh:
        values = FILE_HEADER.unpack(fh.read(FILE_HEADER.size))
    keys = ("nblocks", "ntraces", "np", "ebytes", "tbytes", "bbytes", "vers_id", "status",
            "nbheaders")
    head = dict(zip(keys, values, strict=True))
    if head["nblocks"] < 1 or head["ntraces"] < 1 or head["np"] < 2 or head["ebytes"] not in (
            2, 4) or head["bbytes"] != head["ntraces"] * head["tbytes"] + 28 * head["nbheaders"]:
        raise CorruptDataError(f"fid file header is not a VnmrJ header: {head}", fid_path)
    expected = FILE_HEADER.size + head["nblocks"] * head["bbytes"]
    if size < expected:
        raise TruncatedDataError(
            f"fid is truncated: its header promises {head['nblocks']} block(s), "
            f"{expected} bytes, but the file has {size} bytes", fid_path)
    return head


def _carrier_ppm(procpar: dict, sfrq: float, sw: float) -> tuple[float, bool]:
    """Centre of the spectrum in ppm and whether that is VnmrJ's referenced scale.

    ``rfl``/``rfp`` when recorded; else ``reffrq`` (the 0-ppm frequency, MHz);
    else the transmitter offset ``tof`` (Hz) on an unreferenced scale.
    """
    if "rfl" in procpar and "rfp" in procpar:
        return (_value(procpar, "rfp", 0.0) - _value(procpar, "rfl", 0.0) + sw / 2) / sfrq, True
    reffrq = _value(procpar, "reffrq")
    if reffrq:
        return (sfrq - reffrq) / reffrq * 1e6, True
    return _value(procpar, "tof", 0.0) / sfrq, False


def read(path: Path) -> Dataset:
    """Read a VnmrJ experiment into a :class:`Dataset` with one :class:`Fid`.

    Parameters
    ----------
    path : Path
        The ``.fid`` directory, or its ``fid`` or ``procpar`` file.

    Returns
    -------
    Dataset
        One ``Fid`` (shape ``(np/2,)``, or ``(nblocks x ntraces, np/2)`` for
        arrayed and 2-D experiments). ``metadata["points"]`` is procpar ``np``
        (real + imaginary values).

    Raises
    ------
    CorruptDataError
        ``procpar`` without ``fid``, a truncated ``fid``, or unparseable parameters.
    """
    import nmrglue as ng

    folder = _experiment_dir(Path(path))
    fid_path = _member(folder, "fid")
    procpar_path = _member(folder, "procpar")
    if not fid_path.is_file():
        raise CorruptDataError("VnmrJ procpar found but the fid data file is missing", folder)
    try:
        procpar = ng.varian.read_procpar(str(procpar_path))
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise CorruptDataError(f"procpar cannot be parsed: {exc}", procpar_path) from exc
    file_head = _check_fid_size(fid_path)
    try:
        _, data = ng.varian.read_fid(str(fid_path), as_2d=True)
    except (ValueError, struct.error) as exc:
        raise CorruptDataError(f"fid cannot be read: {exc}", fid_path) from exc
    check_data(data, fid_path, "fid")
    data = data[0] if data.shape[0] == 1 else data

    sfrq, sw = _value(procpar, "sfrq"), _value(procpar, "sw")
    if not sfrq or not sw:
        raise CorruptDataError("procpar lacks sfrq or sw", procpar_path)
    carrier_ppm, referenced = _carrier_ppm(procpar, sfrq, sw)
    nucleus = nucleus_name(str(_value(procpar, "tn", "")))
    header = {key: _value(procpar, key) for key in HEADER_KEYS if key in procpar}
    for key in ("np", "nt", "ni", "arraydim"):  # counts, stored as reals in procpar
        if isinstance(header.get(key), float) and header[key].is_integer():
            header[key] = int(header[key])
    header.update({f"file_{k}": v for k, v in file_head.items()})
    text_path = _member(folder, "text")
    title = text_path.read_text(errors="replace").strip() if text_path.is_file() else ""
    if title:
        header["text"] = " / ".join(line.strip() for line in title.splitlines() if line.strip())
    temp_c = _value(procpar, "temp")
    meta = {
        "spectrometer_frequency_mhz": sfrq,
        "solvent": _value(procpar, "solvent"),
        "temperature_k": None if temp_c is None else temp_c + 273.15,
        "acquired_at": _value(procpar, "date"),
        "instrument": _value(procpar, "console"),
        "name": title.splitlines()[0] if title else folder.name,
        "vendor_phase_deg": {"p0": -_value(procpar, "rp", 0.0),
                             "p1": -_value(procpar, "lp", 0.0)},
        "vendor_reference": {"carrier_ppm": carrier_ppm,
                             "reference_frequency_mhz": _value(procpar, "reffrq"),
                             "rfl_hz": _value(procpar, "rfl"), "rfp_hz": _value(procpar, "rfp")},
        "referenced": "vendor" if referenced else None,
        "vendor": {name: (e["values"] if len(e["values"]) != 1 else e["values"][0])
                   for name, e in procpar.items()},
    }
    sha = hash_source(folder)
    # mirror image of the Bruker convention fentid uses (see Conventions)
    fid = Fid(data=np.conj(np.asarray(data, dtype=np.complex128)), sw_hz=sw, obs_mhz=sfrq,
              carrier_ppm=carrier_ppm, nucleus=nucleus, group_delay=0.0, metadata=meta,
              provenance=Provenance(source=str(folder), driver=NAME, sha256=sha))
    points = _value(procpar, "np")
    if points and int(points) != file_head["np"]:
        # nmrglue reads the fid's own count; say that the two disagree
        warnings.warn(f"{folder}: procpar np={int(points)} but the fid file header holds "
                      f"{file_head['np']} values per trace; the fid's {file_head['np']} are "
                      "read", DataQualityWarning, stacklevel=2)
    return Dataset(
        path=str(folder), driver=NAME, technique="nmr", items=(fid,), sha256=sha,
        metadata={"nucleus": nucleus, "spectrometer_frequency_mhz": sfrq,
                  "points": int(points) if points else 2 * fid.points,
                  "dimensions": 1 if fid.ndim == 1 else 2, "solvent": meta["solvent"],
                  "header": header})


register(Driver(NAME, sniff, read, "nmr",
                "Agilent/Varian VnmrJ .fid directory (fid + procpar)", (".fid",)))
