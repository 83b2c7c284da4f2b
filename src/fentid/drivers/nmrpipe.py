"""NMRPipe data files (``.fid``, ``.ft``, ``.ft2``...), 1-D and 2-D.

Format notes
------------
Layout
    One file: a 2048-byte header of 512 float32 values followed by float32
    data (real and imaginary parts of each vector stored as separate halves).
    Multi-file 3-D/4-D series (``%03d.ft3``) are not handled here.
Byte order
    Native to the machine that wrote it. Header word 2 (``FDFLTORDER``) is
    the constant 2.345, which tells the byte order and is what ``sniff``
    checks (with word 0, ``FDMAGIC``, equal to 0).
Dimensions
    ``FDDIMCOUNT`` dimensions; ``FDDIMORDER`` maps the stored axes to the
    ``FDF2``/``FDF1``/... parameter groups (``SW`` Hz, ``OBS`` MHz, ``CAR``
    ppm, ``ORIG`` Hz, ``LABEL``, ``FTFLAG`` 0 = time, 1 = frequency,
    ``QUADFLAG``, ``AQSIGN``). Parsing uses :func:`nmrglue.pipe.read`; ppm
    axes come from :func:`nmrglue.pipe.make_uc`, which honours ``ORIG`` so
    extracted regions (``nmrpipe_1d_ext.fid``) get the right limits.
Conventions
    NMRPipe transforms with a *positive* exponent and shows the result from
    high to low ppm; fentid's ``Fid`` follows Bruker's convention
    (``fftshift(fft(fid))`` runs from low to high ppm), which is the same
    stored data, so time-domain data are used as stored. Sign alternation /
    imaginary negation requested by ``AQSIGN`` is applied. NMRPipe's carrier
    and origin are the user's calibrated axis: ``metadata["referenced"] =
    "vendor"``.
What is returned
    1-D time domain -> :class:`Fid`; 2-D time domain -> one 2-D ``Fid``
    (``metadata["indirect"]`` describes F1); 1-D frequency domain ->
    :class:`Spectrum` (ascending ppm axis, real part); 2-D frequency domain
    is described (shape, ppm limits) but yields no items, because the model
    has no 2-D spectrum (``fentid peaks`` says so). ``points`` is the stored
    size of the direct dimension (``FDSIZE``: complex points for time data,
    real points for spectra).
Sources
    Delaglio et al., J. Biomol. NMR 6 (1995) 277; NMRPipe ``fdatap.h``;
    nmrglue ``fileio/pipe.py`` and its tests (create_test_data_nmrpipe.sh).
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, Fid, Provenance, Spectrum, hash_source

NAME = "nmrpipe"
HEADER_BYTES = 2048
FLT_ORDER = 2.345
HEADER_KEYS = ("FDDIMCOUNT", "FDSIZE", "FDSPECNUM", "FDQUADFLAG", "FDTRANSPOSED",
               "FDF2TDSIZE", "FDF2APOD", "FDF2P0", "FDF2P1", "FDF2FTFLAG", "FDF2AQSIGN")


def sniff(path: Path, head: bytes) -> bool:
    """True for a file whose header has FDMAGIC 0 and FDFLTORDER 2.345 (either byte order)."""
    if len(head) < 12 or not path.is_file():
        return False
    for order in "<>":
        magic, _fmt, flt = struct.unpack(f"{order}3f", head[:12])
        if magic == 0.0 and abs(flt - FLT_ORDER) < 1e-5:
            return True
    return False


def nucleus_name(label: str) -> str | None:
    """``H1`` / ``C13`` / ``1H`` labels to ``1H`` / ``13C``; None for free-form labels."""
    label = label.strip()
    digits = "".join(c for c in label if c.isdigit())
    letters = "".join(c for c in label if c.isalpha())
    if not digits or not letters or len(letters) > 2:
        return None
    return f"{digits}{letters.capitalize()}"


def _axis(dic: dict, data: np.ndarray, dim: int) -> dict:
    """Parameters of stored axis ``dim`` (0 = slowest) from nmrglue's unit conversion."""
    import nmrglue as ng

    fn = "FDF" + str(int(dic["FDDIMORDER"][data.ndim - 1 - dim]))
    uc = ng.pipe.make_uc(dic, data, dim)
    high, low = uc.ppm_limits()
    return {"label": dic.get(fn + "LABEL", ""), "sw_hz": float(dic[fn + "SW"]),
            "obs_mhz": float(dic[fn + "OBS"]), "carrier_ppm": float(uc._car / uc._obs),
            "ppm_limits": [float(high), float(low)], "points": int(data.shape[dim]),
            "frequency_domain": dic[fn + "FTFLAG"] == 1.0, "aqsign": dic.get(fn + "AQSIGN", 0.0),
            "uc": uc}


def _to_fid_convention(data: np.ndarray, aqsign: float) -> np.ndarray:
    """Apply AQSIGN's sign alternation and imaginary negation (fentid's convention)."""
    data = np.array(data, dtype=np.complex128)
    if aqsign in (1, 2, 16, 17, 18):
        data[..., 1::2] *= -1
    if aqsign in (16, 17, 18):
        data = np.conj(data)
    return data


def read(path: Path) -> Dataset:
    """Read an NMRPipe file.

    Parameters
    ----------
    path : Path
        A single-file NMRPipe 1-D or 2-D data set.

    Returns
    -------
    Dataset
        See the module's "What is returned" notes.

    Raises
    ------
    CorruptDataError
        Header shorter than 2048 bytes, or fewer data bytes than it declares.
    """
    import nmrglue as ng

    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise CorruptDataError(f"file is {size} bytes, shorter than the 2048-byte NMRPipe "
                               "header", path)
    try:
        with warnings.catch_warnings():
            # nmrglue warns about short files; the size check below reports them properly
            warnings.simplefilter("ignore", UserWarning)
            dic, data = ng.pipe.read(str(path))
    except (ValueError, struct.error, IndexError) as exc:
        raise CorruptDataError(f"NMRPipe data cannot be read (truncated?): {exc}", path) from exc
    ndim = int(dic["FDDIMCOUNT"])
    # nmrglue only warns on a short file and returns a wrongly shaped array
    values = int(dic["FDSIZE"]) * max(int(dic.get("FDSPECNUM", 1)), 1) * (
        1 if dic.get("FDQUADFLAG", 1) == 1.0 else 2)
    if ndim <= 2 and size < HEADER_BYTES + 4 * values:
        raise CorruptDataError(f"file is truncated: the header describes {values} float32 "
                               f"values ({HEADER_BYTES + 4 * values} bytes with the header) "
                               f"but the file has {size} bytes", path)
    if data.ndim != ndim or data.size == 0:
        raise CorruptDataError(f"header says {ndim} dimension(s) but data has shape "
                               f"{data.shape}", path)
    check_data(data, path, "data")
    axes = [_axis(dic, data, k) for k in range(data.ndim)]
    direct = axes[-1]
    nucleus = nucleus_name(direct["label"])
    header = {k: dic[k] for k in HEADER_KEYS if k in dic}
    header.update({f"axis{k}_{key}": value for k, ax in enumerate(axes)
                   for key, value in ax.items() if key not in ("uc", "aqsign")})
    meta = {"spectrometer_frequency_mhz": direct["obs_mhz"], "solvent": None,
            "name": path.name, "referenced": "vendor",
            "vendor": {k: (list(v) if isinstance(v, list) else v) for k, v in dic.items()}}
    sha = hash_source(path)
    prov = Provenance(source=str(path), driver=NAME, sha256=sha)
    if ndim > 2:
        raise CorruptDataError(f"{ndim}-D NMRPipe data is not supported (1-D and 2-D only)",
                               path)
    items: tuple = ()
    if not direct["frequency_domain"]:
        indirect = [{"sw_hz": ax["sw_hz"], "obs_mhz": ax["obs_mhz"], "points": ax["points"],
                     "nucleus": nucleus_name(ax["label"]), "carrier_ppm": ax["carrier_ppm"]}
                    for ax in axes[:-1]]
        items = (Fid(data=_to_fid_convention(data, direct["aqsign"]), sw_hz=direct["sw_hz"],
                     obs_mhz=direct["obs_mhz"], carrier_ppm=direct["carrier_ppm"],
                     nucleus=nucleus or direct["label"], metadata={**meta, "indirect": indirect},
                     provenance=prov),)
    elif ndim == 1:
        ppm = direct["uc"].ppm_scale()
        real = np.real(data).astype(np.float64)
        # NMRPipe stores spectra from high to low ppm; the model wants an ascending axis
        items = (Spectrum(axis=ppm[::-1], intensities=real[::-1], unit="ppm", technique="nmr",
                          nucleus=nucleus, metadata=meta, provenance=prov),)
    return Dataset(
        path=str(path), driver=NAME, technique="nmr", items=items, sha256=sha,
        metadata={"nucleus": nucleus, "spectrometer_frequency_mhz": direct["obs_mhz"],
                  "points": int(dic["FDSIZE"]), "dimensions": ndim, "solvent": None,
                  "shape": list(data.shape),
                  "domain": "frequency" if direct["frequency_domain"] else "time",
                  "ppm_limits": [ax["ppm_limits"] for ax in axes], "header": header})


register(Driver(NAME, sniff, read, "nmr", "NMRPipe 1-D/2-D data file",
                (".fid", ".ft", ".ft1", ".ft2", ".dat", ".pipe")))
