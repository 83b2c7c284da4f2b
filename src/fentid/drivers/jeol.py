"""JEOL Delta ``.jdf`` files (ECA/ECX/ECZ spectrometers), 1-D.

Format notes
------------
Layout
    One file: a fixed 1360-byte header, a parameter section at
    ``Param_Start``, the data at ``Data_Start`` (``Data_Length`` bytes), then
    context and annotation sections. The header starts with ``JEOL.NMR`` and
    is always big-endian; its ``Endian`` byte (offset 8: 0 big, 1 little)
    gives the byte order of the parameters and the data.
Header fields used (byte offsets)
    12 dimension count; 14 data type (upper 2 bits: 0 float64, 1 float32;
    lower 6 bits: 1 one_d, 2 two_d, 12 small_two_d...); 24 axis types
    (1 real, 3 complex, 4 real_complex); 48 title (124 chars); 176 points per
    axis (8 x uint32); 208/240 valid offset start/stop; 272/336 axis
    start/stop; 1064 base frequency per axis (MHz, 8 x float64); 1212/1216
    parameter start/length; 1284 data start; 1288 data length (uint64).
Parameters
    ``Parameter_Size, Low_Index, High_Index, Total_Size`` (uint32) then
    64-byte records: 4 class bytes, int16 unit scaler, 5 units of 2 bytes
    (high nibble a *signed* SI-prefix code: 1 milli, 2 micro, -1 kilo, -2
    mega...; low nibble the power; second byte the base unit), a 16-byte
    value, int32 value type (0 string, 1 integer, 2 float, 3 complex,
    4 infinity) and a 28-character upper-case name. Values are converted to
    SI here (``x90`` 6.618 with prefix micro -> 6.618e-6 s), verbatim in
    ``metadata["vendor"]["parameters_raw"]``.
Data
    1-D complex data are two sections, all real points then all imaginary
    points, each ``points`` long. JEOL's sign convention is the mirror image
    of Bruker's, so ``re - 1j*im`` gives fentid's (Bruker) convention,
    ``fftshift(fft(fid))`` from low to high ppm (rutin in DMSO-d6: rhamnose
    methyl at 0.95 ppm, DMSO-d5 at 2.46 ppm on the unreferenced scale).
Digital filter
    Data are stored with the filter's group delay in front. Following
    JEOL's ``orders``/``factors`` parameters (first digit of ``orders`` is
    the number of stages ``s``, then ``s`` orders; ``factors`` one
    decimation digit per stage), the delay in output points is
    ``sum_i (order_i - 1) / prod_{j>=i} factor_j / 2`` (19.66 points for
    ``orders=25473, factors=82``; the rutin FIDs peak at point 20).
Referencing
    Raw ``.jdf`` FIDs carry no operator reference: the axis is the
    spectrometer's nominal scale, ``x_offset`` ppm at the carrier relative
    to ``x_freq`` (the 0-ppm base frequency). MestReNova's export of the same
    rutin 13C data uses the same 100.0 ppm centre. Residual-solvent
    referencing is left to processing.
Not handled
    2-D and higher (submatrix layout) files raise ``CorruptDataError`` saying
    so; nmrglue >= 0.12 has ``nmrglue.jeol`` for those.
Why our own parser
    ``pyproject`` allows nmrglue 0.10/0.11, which have no JEOL reader; the
    0.12 reader ignores SI unit prefixes (``x90`` = 6.618, not 6.618e-6 s),
    does not compute the digital-filter delay and reports a truncated file
    as a bare ``struct.error``. A data section shorter than the header says
    raises :class:`~fentid.errors.TruncatedDataError` (still being written, or cut
    short: the watch-folder service retries it).
Sources
    JEOL Delta "Data Format" documentation (header/parameter layout);
    cheminfo/jeolconverter (parseJEOL and its tests); nmrglue
    ``fileio/jeol.py`` (0.12).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, TruncatedDataError
from fentid.spectra.model import Dataset, Fid, Provenance, hash_source

NAME = "jeol"
MAGIC = b"JEOL.NMR"
HEADER_BYTES = 1360
RECORD_BYTES = 64
AXIS_TYPES = {0: None, 1: "real", 2: "tppi", 3: "complex", 4: "real_complex", 5: "envelope"}
DATA_TYPES = {0: "f8", 1: "f4"}
HEADER_KEYS = ("x_domain", "x_freq", "x_offset", "x_sweep", "x_sweep_clipped", "x_points",
               "x_acq_time", "x_acq_duration", "scans", "total_scans", "relaxation_delay",
               "x90", "x_pulse", "x_angle", "solvent", "experiment", "temp_get",
               "irr_domain", "irr_freq", "irr_offset", "field_strength", "inst_model_number",
               "orders", "factors", "filter_factor", "digital_filter", "sample_id")


def sniff(path: Path, head: bytes) -> bool:
    """True for a file that starts with ``JEOL.NMR``."""
    return head[:8] == MAGIC


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def parse_header(buf: bytes) -> dict:
    """Decode the fixed 1360-byte big-endian header (see the module notes)."""
    if len(buf) < HEADER_BYTES:
        raise ValueError(f"file has {len(buf)} bytes, shorter than the 1360-byte header")
    u32x8 = struct.Struct(">8I")
    f64x8 = struct.Struct(">8d")
    data_type = buf[14]
    return {
        "endian": "<" if buf[8] == 1 else ">",
        "version": f"{buf[9]}.{struct.unpack_from('>H', buf, 10)[0]}",
        "dimensions": buf[12],
        "data_type": DATA_TYPES.get(data_type >> 6),
        "data_format": data_type & 0x3F,
        "axis_type": [AXIS_TYPES.get(b) for b in buf[24:32]],
        "title": _text(buf[48:172]),
        "points": list(u32x8.unpack_from(buf, 176)),
        "offset_start": list(u32x8.unpack_from(buf, 208)),
        "offset_stop": list(u32x8.unpack_from(buf, 240)),
        "axis_start": list(f64x8.unpack_from(buf, 272)),
        "axis_stop": list(f64x8.unpack_from(buf, 336)),
        "site": _text(buf[424:552]),
        "author": _text(buf[552:680]),
        "comment": _text(buf[680:808]),
        "axis_titles": [_text(buf[808 + 32 * k:840 + 32 * k]) for k in range(8)],
        "base_freq_mhz": list(f64x8.unpack_from(buf, 1064)),
        "param_start": struct.unpack_from(">I", buf, 1212)[0],
        "param_length": struct.unpack_from(">I", buf, 1216)[0],
        "data_start": struct.unpack_from(">I", buf, 1284)[0],
        "data_length": struct.unpack_from(">Q", buf, 1288)[0],
    }


def _unit_factor(units: bytes) -> float:
    """SI factor of the first unit's prefix (signed high nibble: 1 milli, 2 micro, -1 kilo)."""
    code = units[0] >> 4
    code = code - 16 if code >= 8 else code
    return 10.0 ** (-3 * code)


def parse_parameters(buf: bytes, start: int, endian: str) -> tuple[dict, dict]:
    """Decode the parameter section.

    Returns
    -------
    (dict, dict)
        Values in SI units keyed by lower-case name, and the raw values as stored.
    """
    _size, _low, high, _total = struct.unpack_from(f"{endian}4I", buf, start)
    end = start + 16 + high * RECORD_BYTES
    if high > 100000 or end > len(buf):
        raise ValueError(f"parameter section ({high} records) runs past the end of the file")
    values, raw = {}, {}
    for k in range(high):
        rec = buf[start + 16 + k * RECORD_BYTES:start + 16 + (k + 1) * RECORD_BYTES]
        scaler = struct.unpack_from(f"{endian}h", rec, 4)[0]
        units = rec[6:16]
        vtype = struct.unpack_from(f"{endian}i", rec, 32)[0]
        name = _text(rec[36:64]).lower()
        if not name:
            continue
        if vtype == 0:
            value = _text(rec[16:32])
            raw[name] = value
            values[name] = value
            continue
        if vtype in (1, 4):
            value = struct.unpack_from(f"{endian}i", rec, 16)[0]
        elif vtype == 2:
            value = struct.unpack_from(f"{endian}d", rec, 16)[0]
        elif vtype == 3:
            re_, im_ = struct.unpack_from(f"{endian}2d", rec, 16)
            value = complex(re_, im_)
        else:
            continue
        raw[name] = value
        factor = _unit_factor(units) * 10.0 ** scaler
        values[name] = value if (factor == 1.0 or vtype == 4) else value * factor
    return values, raw


def group_delay_points(params: dict) -> float:
    """Digital-filter group delay in output points from ``orders`` and ``factors``.

    Returns 0 when the parameters are absent or not understood.
    """
    orders = str(params.get("orders", "")).split()
    factors = str(params.get("factors", "")).split()
    # Delta writes "2 54 73" / "8  2"; older files run the digits together ("25473" / "82")
    if len(orders) == 1 and orders[0].isdigit():
        stages, digits = int(orders[0][0]), orders[0][1:]
        if stages < 1 or len(digits) % stages:
            return 0.0
        width = len(digits) // stages
        orders = [orders[0][0]] + [digits[i * width:(i + 1) * width] for i in range(stages)]
    if len(factors) == 1:
        factors = list(factors[0])
    if not orders or not all(t.isdigit() for t in orders + factors):
        return 0.0
    stages = int(orders[0])
    if stages < 1 or len(orders) != stages + 1 or len(factors) < stages:
        return 0.0
    stage_orders = [int(t) for t in orders[1:]]
    stage_factors = [int(t) for t in factors[:stages]]
    delay = 0.0
    for i in range(stages):
        delay += (stage_orders[i] - 1) / float(np.prod(stage_factors[i:]))
    return delay / 2.0


def _nucleus(domain: str) -> str:
    """``1H``/``13C`` from a JEOL domain name (``1H``, ``Proton``, ``Carbon13``)."""
    named = {"proton": "1H", "carbon13": "13C", "fluorine19": "19F", "phosphorus31": "31P",
             "deuterium": "2H", "nitrogen15": "15N"}
    return named.get(domain.lower(), domain)


def read(path: Path) -> Dataset:
    """Read a 1-D JEOL Delta ``.jdf`` file into a :class:`Dataset` with one :class:`Fid`.

    ``metadata["points"]`` is the header's ``Data_Points`` of the first axis
    (complex points for complex data, 32768 for the rutin files).

    Raises
    ------
    CorruptDataError
        Truncated header, parameters or data; 2-D and higher data.
    """
    path = Path(path)
    buf = path.read_bytes()
    try:
        head = parse_header(buf)
        params, raw = parse_parameters(buf, head["param_start"], head["endian"])
    except (ValueError, struct.error) as exc:
        raise CorruptDataError(f"JEOL header or parameters cannot be read: {exc}", path) from exc
    ndim = sum(1 for t in head["axis_type"] if t)
    if ndim != 1:
        raise CorruptDataError(
            f"{ndim}-D JEOL data is not supported (1-D only; nmrglue.jeol reads 2-D)", path)
    n = head["points"][0]
    kind = head["axis_type"][0]
    sections = 2 if kind in ("complex", "real_complex") else 1
    if head["data_type"] is None or kind not in ("real", "complex", "real_complex"):
        raise CorruptDataError(f"unsupported JEOL data type/axis type "
                               f"({head['data_type']}, {kind})", path)
    dtype = np.dtype(head["endian"] + head["data_type"])
    need = head["data_start"] + sections * n * dtype.itemsize
    if len(buf) < need:
        raise TruncatedDataError(f"data section is truncated: needs {need} bytes, "
                               f"file has {len(buf)}", path)
    values = np.frombuffer(buf, dtype=dtype, count=sections * n, offset=head["data_start"])
    if sections == 1:
        raise CorruptDataError("real-only JEOL data (no imaginary part) is not supported", path)
    # swapped or overwritten bytes decode to NaN/inf: say so before arithmetic warns
    check_data(values, path, "data section")
    data = values[:n] - 1j * values[n:]  # JEOL's sign convention mirrors Bruker's
    lo, hi = head["offset_start"][0], head["offset_stop"][0]
    if not 0 <= lo <= hi < n:
        raise CorruptDataError(f"header marks points {lo}..{hi} valid but the axis has {n} "
                               "points", path)
    data = data[lo:hi + 1]  # only the points the header marks valid

    sw = params.get("x_sweep")
    obs_hz = params.get("x_freq")
    if not sw or not obs_hz:
        raise CorruptDataError("parameters lack x_sweep or x_freq", path)
    obs_mhz = round(obs_hz / 1e6, 11)  # Hz to MHz without a binary-fraction tail
    nucleus = _nucleus(str(params.get("x_domain", head["axis_titles"][0])))
    header = {k: params[k] for k in HEADER_KEYS if k in params}
    header.update({"title": head["title"], "comment": head["comment"], "site": head["site"],
                   "data_points": n, "data_offset_start": lo, "data_offset_stop": hi,
                   "data_axis_start": head["axis_start"][0],
                   "data_axis_stop": head["axis_stop"][0], "data_axis_type": kind,
                   "base_frequency_mhz": head["base_freq_mhz"][0],
                   "file_version": head["version"]})
    temp_c = params.get("temp_get")
    gd = group_delay_points(params)
    meta = {"spectrometer_frequency_mhz": obs_mhz, "solvent": params.get("solvent"),
            "temperature_k": None if temp_c is None else float(temp_c) + 273.15,
            "instrument": params.get("inst_model_number"), "name": head["title"] or path.stem,
            "digital_filter_group_delay_points": gd,
            "vendor": {"header": head, "parameters": params, "parameters_raw": raw}}
    sha = hash_source(path)
    fid = Fid(data=data, sw_hz=sw, obs_mhz=obs_mhz, carrier_ppm=params.get("x_offset", 0.0),
              nucleus=nucleus, group_delay=gd, metadata=meta,
              provenance=Provenance(source=str(path), driver=NAME, sha256=sha))
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=(fid,), sha256=sha,
                   metadata={"nucleus": nucleus, "spectrometer_frequency_mhz": obs_mhz,
                             "points": n, "dimensions": 1, "solvent": meta["solvent"],
                             "header": header})


register(Driver(NAME, sniff, read, "nmr", "JEOL Delta .jdf", (".jdf",)))
