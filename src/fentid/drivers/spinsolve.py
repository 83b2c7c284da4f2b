"""Magritek Spinsolve (benchtop NMR) experiment folders, Spinsolve Expert and standard.

Format notes
------------
Layout
    One folder per experiment: ``acqu.par`` (acquisition parameters,
    ``key = value`` lines, strings quoted), ``proc.par`` (processing), and the
    data as Prospa binary ``data.1d``/``fid.1d`` (time domain) or
    ``spectrum.1d``/``spectrum_processed.1d`` (frequency domain); Spinsolve
    Expert adds plot files ``fid.pt1``/``spectrum.pt1`` and a
    ``processing.script``. Some software versions write ``nmr_fid.dx``
    (JCAMP-DX) instead; a bare ``.dx`` file is the JCAMP-DX driver's.
Prospa ``.1d`` files
    Little-endian. A 32-byte header of eight int32: owner ``PROS``, format
    ``DATA``, version ``V1.1`` (each stored byte-reversed, so the file starts
    ``SORPATAD1.1V``), data type (504 = complex data with a float32 x axis),
    and x/y/z/q dimensions. Then ``n`` float32 x values (time in ms, or ppm
    for spectra) followed by ``n`` complex64 points (real, imaginary
    interleaved): ``32 + 12 n`` bytes, checked here because nmrglue would
    silently split a truncated file into wrong thirds.  Files with y/z/q
    dimensions above 1 (2-D and arrayed data) are refused rather than
    spliced into one FID; an ``nrPnts`` or time step that disagrees with
    ``acqu.par`` is warned about.
Parameters
    ``b1Freq`` is the 0-ppm frequency (MHz); ``bandwidth`` the spectral width
    (kHz); ``centerFreqPPM`` the carrier (ppm): ``lowestFrequency + sw/2``
    equals ``centerFreqPPM x b1Freq`` in the lyogel sample. ``nrPnts`` is the
    number of complex points (what ``points`` reports).
Conventions
    Prospa stores the mirror image of the Bruker convention fentid uses
    (nmrglue's "NMR order": ``fftshift(fft(fid))`` from high to low ppm), so
    the data are conjugated on reading; the lyogel water line then lands at
    4.70 ppm. The proc.par ``p0Phase``/``p1Phase`` (degrees) are kept as
    ``vendor_phase_deg``; the FID is already phased in the time domain
    (``tdPhaseCorr``), so they are small (0.35 degrees here) and their sign
    could not be verified on this sample. Spinsolve has no lock-referenced
    scale recorded in the files: referencing is left to processing.
Sources
    Magritek Spinsolve Expert manual (file list); nmrglue ``fileio/spinsolve.py``
    (developer notes); rserial/spinsolveproc.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra.model import Dataset, Fid, Provenance, Spectrum, hash_source

NAME = "spinsolve"
PROSPA_MAGIC = b"SORPATAD"
PROSPA_HEADER = struct.Struct("<8i")
TIME_FILES = ("data.1d", "fid.1d")
SPECTRUM_FILES = ("spectrum_processed.1d", "spectrum.1d")
HEADER_KEYS = ("nucleus", "b1Freq", "bandwidth", "dwellTime", "acqTime", "nrPnts", "nrScans",
               "centerFreqPPM", "lowestFrequency", "repTime", "pulseLength1H", "rxGain",
               "experiment", "expName", "specType", "specID", "softwareVersion", "solvent",
               "sample", "tdPhaseCorr", "fdPhaseCorr")
PROC_KEYS = ("apodizationFunction", "p0Phase", "p1Phase", "ppmOffset", "zeroFill", "ftType")


def _experiment_dir(path: Path) -> Path:
    return path.parent if path.is_file() else path


def sniff(path: Path, head: bytes) -> bool:
    """True for a folder with a Spinsolve ``acqu.par`` (or a Prospa ``.1d`` file inside one)."""
    if path.is_file() and not head.startswith(PROSPA_MAGIC):
        return False
    acqu = _experiment_dir(path) / "acqu.par"
    if not acqu.is_file():
        return False
    with open(acqu, "rb") as fh:
        text = fh.read(4096)
    return b"b1Freq" in text and b"=" in text


def parse_par(path: Path) -> dict:
    """Parse a Spinsolve ``.par`` file: ``key = value`` lines, quoted strings, numbers."""
    out = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            out[key.strip()] = value[1:-1]
            continue
        try:
            number = float(value)
        except ValueError:
            out[key.strip()] = value
            continue
        out[key.strip()] = int(number) if number.is_integer() and "." not in value else number
    return out


def read_prospa_1d(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read a Prospa ``.1d`` file.

    Returns
    -------
    (x, data, header)
        ``x`` float64 (n,) (ms or ppm), ``data`` complex128 (n,), header dict.
    """
    raw = path.read_bytes()
    if len(raw) < PROSPA_HEADER.size or not raw.startswith(PROSPA_MAGIC):
        raise CorruptDataError("not a Prospa .1d file (no SORPATAD header)", path)
    keys = ("owner", "format", "version", "data_type", "x_dim", "y_dim", "z_dim", "q_dim")
    head = dict(zip(keys, PROSPA_HEADER.unpack_from(raw), strict=True))
    extra = [head[k] for k in ("y_dim", "z_dim", "q_dim") if head[k] > 1]
    if extra:
        # the x axis and data below are one row: reading n = x*y*... points as one
        # FID would splice every row into a single, meaningless FID
        shape = " x ".join(str(v) for v in [head["x_dim"], *extra])
        raise CorruptDataError(f"multi-dimensional Prospa data ({shape}) is not supported "
                               "(1-D only)", path)
    n = head["x_dim"]
    if head["data_type"] != 504:
        raise CorruptDataError(f"Prospa data type {head['data_type']} is not supported "
                               "(504, complex with x axis, only)", path)
    need = PROSPA_HEADER.size + 12 * n
    if n < 2 or len(raw) != need:
        raise CorruptDataError(f"Prospa file should be {need} bytes for {n} points "
                               f"but is {len(raw)} bytes (truncated?)", path)
    values = np.frombuffer(raw, dtype="<f4", offset=PROSPA_HEADER.size)
    check_data(values, path, "Prospa data")
    x = values[:n].astype(np.float64)
    # conjugated: Prospa's sign convention mirrors Bruker's (see Conventions)
    data = values[n::2].astype(np.float64) - 1j * values[n + 1::2]
    return x, data, head


def _data_file(folder: Path) -> Path:
    for name in TIME_FILES + SPECTRUM_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CorruptDataError("Spinsolve acqu.par found but no data file (data.1d, fid.1d, "
                           "spectrum.1d); nmr_fid.dx alone can be read with the JCAMP-DX "
                           "driver", folder)


def _check_consistency(acqu: dict, x: np.ndarray, data: np.ndarray, data_path: Path) -> None:
    """Warn when acqu.par and a time-domain file disagree (point count, dwell).

    Spectrum files are not compared: zero filling gives them more points.
    """
    if data_path.name not in TIME_FILES:
        return
    stated = acqu.get("nrPnts")
    if isinstance(stated, int | float) and int(stated) != data.size:
        warnings.warn(f"{data_path}: acqu.par nrPnts={int(stated)} but the file holds "
                      f"{data.size} points; the file's points are read", DataQualityWarning,
                      stacklevel=3)
    bandwidth = acqu.get("bandwidth")
    if isinstance(bandwidth, int | float) and bandwidth > 0 and x.size > 1:
        dwell_ms = (x[-1] - x[0]) / (x.size - 1)
        expected_ms = 1.0 / float(bandwidth)  # bandwidth in kHz
        if abs(dwell_ms - expected_ms) > 0.01 * expected_ms:
            warnings.warn(f"{data_path}: the time axis steps {dwell_ms:.6g} ms but acqu.par "
                          f"bandwidth={bandwidth} kHz means {expected_ms:.6g} ms; the "
                          "bandwidth is used", DataQualityWarning, stacklevel=3)


def read(path: Path) -> Dataset:
    """Read a Spinsolve experiment folder.

    Parameters
    ----------
    path : Path
        The folder (or a ``.1d`` file in it).

    Returns
    -------
    Dataset
        A :class:`Fid` from ``data.1d``/``fid.1d``, else a :class:`Spectrum`
        (ascending ppm) from ``spectrum.1d``. ``metadata["points"]`` is
        acqu.par ``nrPnts`` (complex points).
    """
    folder = _experiment_dir(Path(path))
    acqu = parse_par(folder / "acqu.par")
    proc = parse_par(folder / "proc.par") if (folder / "proc.par").is_file() else {}
    data_path = _data_file(folder)
    x, data, prospa = read_prospa_1d(data_path)
    try:
        obs = float(acqu["b1Freq"])
        sw = float(acqu["bandwidth"]) * 1e3
        carrier = float(acqu.get("centerFreqPPM", 0.0))
    except (KeyError, ValueError) as exc:
        raise CorruptDataError(f"acqu.par lacks b1Freq/bandwidth: {exc}",
                               folder / "acqu.par") from exc
    _check_consistency(acqu, x, data, data_path)
    nucleus = str(acqu.get("nucleus") or acqu.get("rxChannel") or "1H")
    header = {k: acqu[k] for k in HEADER_KEYS if k in acqu}
    header.update({f"proc_{k}": proc[k] for k in PROC_KEYS if k in proc})
    header["data_file"] = data_path.name
    meta = {"spectrometer_frequency_mhz": obs, "solvent": acqu.get("solvent"),
            "instrument": f"{acqu.get('specType', 'Spinsolve')} {acqu.get('specID', '')}".strip(),
            "name": acqu.get("sample") or acqu.get("expName") or folder.name,
            "vendor": {"acqu": acqu, "proc": proc, "prospa_header": prospa}}
    if "p0Phase" in proc:
        meta["vendor_phase_deg"] = {"p0": float(proc["p0Phase"]),
                                    "p1": float(proc.get("p1Phase", 0.0))}
    sha = hash_source(folder)
    prov = Provenance(source=str(folder), driver=NAME, sha256=sha)
    if data_path.name in TIME_FILES:
        item = Fid(data=data, sw_hz=sw, obs_mhz=obs, carrier_ppm=carrier, nucleus=nucleus,
                   metadata=meta, provenance=prov)
    else:
        order = np.argsort(x, kind="stable")
        item = Spectrum(axis=x[order], intensities=data.real[order], unit="ppm",
                        technique="nmr", nucleus=nucleus, metadata=meta, provenance=prov)
    points = acqu.get("nrPnts", data.size)
    return Dataset(path=str(folder), driver=NAME, technique="nmr", items=(item,), sha256=sha,
                   metadata={"nucleus": nucleus, "spectrometer_frequency_mhz": obs,
                             "points": int(points), "dimensions": 1,
                             "solvent": meta["solvent"], "header": header})


register(Driver(NAME, sniff, read, "nmr", "Magritek Spinsolve experiment folder", (".1d",)))
