"""A fast, streaming mzML spectrum reader (byte-level scanner, no XML tree).

Why not pyteomics: its reader builds an lxml element per spectrum and resolves
every cvParam through the ontology, which costs far more than decoding the
arrays. mzML spectra are flat, regular blocks written by a handful of
converters (ProteoWizard, OpenMS, vendor exporters), so we find each
``<spectrum ...> ... </spectrum>`` block with ``bytes.find`` in a rolling
buffer, read its cvParams with one regular expression, and decode the
``<binary>`` payloads with ``binascii`` + ``zlib`` + ``numpy.frombuffer``.
Arrays are returned in the dtype the file declares (float32 stays float32),
exactly as pyteomics returns them (tests/drivers/test_mzml.py checks both
against each other and against pyteomics' own expected arrays).

Memory: only the current buffer (``chunk_bytes`` plus one spectrum) and the
current spectrum's arrays are alive, so a 1 GB profile file streams in a few
tens of MB (benchmarks/bench_mzml_read.py measures it). gzip-compressed files
stream through :func:`fentid.drivers._gzip.open_binary`.

Legacy mzML (0.93, 0.99.x; the drafts before 1.0, written by ReAdW and the
PSI examples) is read by the same scanner with ``legacy=True`` (see
:func:`parse_spectrum`): the MS level is the ``msLevel`` attribute, shared
parameters are ``<paramGroupRef>``, binary arrays sit directly in the spectrum
(no ``<binaryDataArrayList>``), 0.93 states the encoding in ``dataType`` /
``compressionType`` attributes, the precursor is MS:1000040 (``m/z``) in
``<ionSelection>``. Their writers mislabelled the encoding: the PSI tiny1
examples declare "32-bit float" for arrays that hold exactly ``arrayLength``
little-endian 64-bit floats, and ReAdW's 1min example stores big-endian
floats. Legacy arrays are therefore decoded as the file's own structure says
(:func:`_resolve_legacy`): the value width from the byte count and
``arrayLength``, the byte order from the m/z array's plausibility (finite,
positive, inside the spectrum's declared lowest/highest m/z), and every
correction is reported (``ScanRecord.notes`` -> one DataQualityWarning per file).
"""

from __future__ import annotations

import binascii
import html
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fentid.drivers._gzip import open_binary
from fentid.errors import CorruptDataError, FormatError, NoSpectraError, TruncatedDataError

#: Bytes read from the file per step.
CHUNK_BYTES = 4 << 20
#: Header bytes kept (everything before the first spectrum; real headers are a few kB).
MAX_HEADER_BYTES = 16 << 20

_DTYPES = {
    "MS:1000521": np.dtype("<f4"),
    "MS:1000523": np.dtype("<f8"),
    "MS:1000519": np.dtype("<i4"),
    "MS:1000522": np.dtype("<i8"),
}
_ZLIB, _NO_COMPRESSION = "MS:1000574", "MS:1000576"
_NUMPRESS = {"MS:1002312": "MS-Numpress linear", "MS:1002313": "MS-Numpress pic",
             "MS:1002314": "MS-Numpress slof"}
_MZ_ARRAY, _INT_ARRAY = "MS:1000514", "MS:1000515"
#: Unit accessions of scan start time -> factor to seconds.
_TIME_FACTORS = {"UO:0000010": 1.0, "UO:0000031": 60.0, "MS:1000038": 60.0,
                 "UO:0000028": 1e-3, "UO:0000032": 3600.0}
#: cvParams of <activation> that are values, not the activation type.
_ACTIVATION_VALUES = {"MS:1000045", "MS:1000138", "MS:1000509", "MS:1002680"}

_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_CVPARAM = re.compile(rb"<cvParam\s([^>]*?)/?>")
# mzML 0.99 spelled the reference <paramGroupRef>
_GROUP_REF = re.compile(rb'<(?:referenceableParamGroupRef|paramGroupRef)\s+ref="([^"]*)"')
_GROUP = re.compile(rb'<referenceableParamGroup\s+id="([^"]*)"\s*>(.*?)</referenceableParamGroup>',
                    re.DOTALL)
_SPECTRUM_LIST = re.compile(rb"<spectrumList\b([^>]*)>")
_CHROMATOGRAM_LIST = re.compile(rb"<chromatogramList\b([^>]*)>")
_VERSION = re.compile(rb'<mzML\b[^>]*?\sversion\s*=\s*"([^"]*)"')
#: mzML 0.93 ``dataType`` attribute values.
_LEGACY_DTYPES = {b"32-bit float": np.dtype("<f4"), b"64-bit float": np.dtype("<f8"),
                  b"32-bit integer": np.dtype("<i4"), b"64-bit integer": np.dtype("<i8")}
_LOWEST_MZ, _HIGHEST_MZ = b"MS:1000528", b"MS:1000527"
#: Relative slack on the declared lowest/highest m/z (written with ~6 significant digits).
_MZ_RANGE_SLACK = 1e-4


@dataclass
class ScanRecord:
    """One mzML spectrum as stored: arrays in the file's dtype plus scan metadata.

    Attributes
    ----------
    index : int
        0-based position in the spectrum list (as read, not the ``index`` attribute).
    id : str
        The native id (``controllerType=0 controllerNumber=1 scan=1``).
    mz, intensity : ndarray, shape (n,)
        m/z and intensity arrays in their stored dtype; empty when absent.
    ms_level : int or None
    centroided : bool or None
        True for centroid (MS:1000127), False for profile (MS:1000128).
    retention_time_s : float or None
        Scan start time converted to seconds.
    precursor_mz : float or None
        Selected ion m/z (or isolation window target when no selected ion).
    precursor_charge : int or None
    activation : str or None
        Activation method names joined by ``", "``.
    collision_energy_ev : float or None
    polarity : str or None
        ``"positive"`` or ``"negative"``.
    params : dict
        Every other cvParam of the spectrum (name -> value) for ``metadata["vendor"]``.
    offset : int or None
        Byte offset of the ``<spectrum`` start tag in the file (for
        :func:`read_record_at`); None when not read from a file position.
    notes : list of str
        What was corrected or assumed while decoding (legacy mzML encodings),
        one short sentence each, without the spectrum id; the driver turns
        them into one DataQualityWarning per file.
    """

    index: int
    id: str
    mz: np.ndarray
    intensity: np.ndarray
    ms_level: int | None = None
    centroided: bool | None = None
    retention_time_s: float | None = None
    precursor_mz: float | None = None
    precursor_charge: int | None = None
    activation: str | None = None
    collision_energy_ev: float | None = None
    polarity: str | None = None
    params: dict = field(default_factory=dict)
    offset: int | None = None
    notes: list = field(default_factory=list)


@dataclass
class MzmlHeader:
    """File-level facts from the part of the file before the first spectrum.

    ``version`` is the ``<mzML version>`` attribute; ``chromatograms`` the
    ``chromatogramList count`` when the header reached it (a file without spectra).
    """

    declared_count: int | None
    instrument: str | None
    ionization: str | None
    groups: dict
    version: str | None = None
    chromatograms: int | None = None

    @property
    def legacy(self) -> bool:
        """True for the pre-1.0 drafts (0.93, 0.99.x), which :func:`parse_spectrum` reads."""
        return bool(self.version) and self.version.startswith("0.")


def _b64decode_stdlib(data: bytes) -> bytes:
    return binascii.a2b_base64(data, strict_mode=True)


def _load_b64decoder():
    """pybase64's SIMD decoder (30x the stdlib's speed on profile arrays), else the stdlib.

    Both reject any character outside the base64 alphabet with ``binascii.Error``.
    """
    try:
        import pybase64
    except ImportError:
        return _b64decode_stdlib
    return lambda data: pybase64.b64decode(data, validate=True)


b64decode_strict = _load_b64decoder()


def decode_base64(payload: bytes, what: str, path) -> bytes:
    """Decode a base64 binary array, tolerating whitespace-wrapped lines.

    Raises
    ------
    CorruptDataError
        Naming ``what`` (e.g. ``"spectrum 'scan=1'"``) and ``path`` when it is not base64.
    """
    try:
        try:
            return b64decode_strict(payload)
        except binascii.Error:
            # writers may wrap base64 over lines; strict decoding rejects the whitespace
            return b64decode_strict(payload.translate(None, b" \t\r\n"))
    except binascii.Error as exc:
        raise CorruptDataError(f"{what}: invalid base64: {exc}", path) from exc


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(raw))


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return html.unescape(text) if "&" in text else text


def _cvparams(raw: bytes) -> list[dict[bytes, bytes]]:
    return [_attrs(m) for m in _CVPARAM.findall(raw)]


def _expand_groups(raw: bytes, groups: dict) -> bytes:
    """Append the cvParams of referenced param groups (mzML's shared-parameter mechanism)."""
    refs = _GROUP_REF.findall(raw)
    if not refs:
        return raw
    return raw + b"".join(groups.get(ref, b"") for ref in refs)


def _count(regex: re.Pattern, head: bytes) -> int | None:
    match = regex.search(head)
    if match:
        count = _attrs(match.group(1)).get(b"count")
        if count is not None and count.strip().isdigit():
            return int(count)
    return None


def parse_header(head: bytes) -> MzmlHeader:
    """Read the spectrum count, instrument and ionisation from the file header."""
    groups = {gid: body for gid, body in _GROUP.findall(head)}
    declared = _count(_SPECTRUM_LIST, head)
    version = _VERSION.search(head)
    version = version.group(1).decode("ascii", "replace") if version else None
    legacy = bool(version) and version.startswith("0.")
    instrument = ionization = None
    conf = re.search(rb"<instrumentConfiguration\b.*?</instrumentConfiguration>", head, re.DOTALL)
    if conf is None and legacy:  # 0.9x: <instrumentList><instrument id=..>
        conf = re.search(rb"<instrument\b.*?</instrument>", head, re.DOTALL)
    if conf:
        block = conf.group(0)
        outside = re.sub(rb"<componentList\b.*?</componentList>", b"", block, flags=re.DOTALL)
        # instrument model: the first cvParam outside the components that is not a
        # serial number or customisation (MS:1000529, MS:1000032); 0.93 lists the
        # vendor ("Thermo Finnigan") before the model, so there the last one is taken
        names = [_text(cv.get(b"name", b"")) for cv in _cvparams(_expand_groups(outside, groups))
                 if cv.get(b"accession") not in (b"MS:1000529", b"MS:1000032")]
        if names:
            instrument = (names[-1] if legacy else names[0]) or None
        source = re.search(rb"<source\b.*?</source>", block, re.DOTALL)
        if source:
            names = [_text(cv.get(b"name", b"")) for cv in _cvparams(source.group(0))]
            chosen = [n for n in names if ("ioniz" in n or "spray" in n) and "inlet" not in n]
            ionization = chosen[0] if chosen else None
    return MzmlHeader(declared, instrument, ionization, groups, version,
                      _count(_CHROMATOGRAM_LIST, head))


def _array_params(section: bytes, groups: dict) -> tuple[bytes, bytes]:
    """Split a ``<binaryDataArray>`` section into (its parameters, its base64 payload)."""
    # split off the payload first: regular expressions must never scan the base64 text
    bin_start = section.find(b"<binary>")
    if bin_start < 0:
        return _expand_groups(section, groups), b""
    bin_end = section.rfind(b"</binary>")
    if bin_end < bin_start:
        raise ValueError("unterminated <binary>")
    return _expand_groups(section[:bin_start], groups), section[bin_start + 8:bin_end]


def _decode_array(section: bytes, n_default: int, spectrum_id: str, groups: dict, path,
                  legacy: bool = False) -> tuple[str, np.ndarray | bytes, np.dtype, int]:
    """Decode one ``<binaryDataArray>``.

    Returns
    -------
    (kind, values, dtype, n)
        The array-type accession, the values in the declared dtype (for a
        legacy file: the raw decompressed bytes, resolved later by
        :func:`_resolve_legacy`), the declared dtype and the declared length.
    """
    try:
        params, payload = _array_params(section, groups)
    except ValueError as exc:
        raise CorruptDataError(f"spectrum {spectrum_id!r}: {exc}", path) from exc
    tag = _attrs(params[:params.find(b">")])
    dtype = compression = kind = None
    if legacy:  # 0.93 states the encoding in attributes
        dtype = _LEGACY_DTYPES.get(tag.get(b"dataType", b"").strip().lower())
        compression = {b"zlib": _ZLIB, b"none": _NO_COMPRESSION}.get(
            tag.get(b"compressionType", b"").strip().lower())
    for cv in _cvparams(params):
        acc = cv.get(b"accession", b"").decode()
        if acc in _DTYPES:
            dtype = _DTYPES[acc]
        elif acc in (_ZLIB, _NO_COMPRESSION):
            compression = acc
        elif acc in _NUMPRESS:
            raise FormatError(
                f"spectrum {spectrum_id!r} uses {_NUMPRESS[acc]} compression, which fentid "
                "does not decode; convert with msconvert without --numpress", path)
        elif acc in (_MZ_ARRAY, _INT_ARRAY) or kind is None and cv.get(b"name", b"").lower(
                ).endswith(b"array"):
            kind = acc
    if dtype is None:
        raise CorruptDataError(f"spectrum {spectrum_id!r}: binary array without a data type",
                               path)
    n = int(tag[b"arrayLength"]) if b"arrayLength" in tag else n_default
    raw = decode_base64(payload, f"spectrum {spectrum_id!r}: binary array", path)
    if compression == _ZLIB and raw:
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise CorruptDataError(
                f"spectrum {spectrum_id!r}: zlib data cannot be decompressed: {exc}", path
            ) from exc
    if legacy:
        return kind, raw, dtype, n
    if len(raw) % dtype.itemsize:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: binary array of {len(raw)} bytes is not a whole number "
            f"of {dtype.itemsize}-byte values", path)
    arr = np.frombuffer(raw, dtype=dtype)
    if arr.size != n:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: binary array has {arr.size} values but the spectrum "
            f"declares {n}", path)
    return kind, arr, dtype, n


def _legacy_width(raw: bytes, dtype: np.dtype, n: int, what: str, spectrum_id: str,
                  path) -> tuple[np.dtype, str | None]:
    """Value width of a legacy array: the declared one, or the one its byte count proves."""
    if n and len(raw) == n * dtype.itemsize:
        return dtype, None
    other = np.dtype(f"{dtype.kind}{12 - dtype.itemsize}")  # 4 <-> 8 bytes
    if n and len(raw) == n * other.itemsize:
        return other, (f"{what} declared {8 * dtype.itemsize}-bit has the byte count of "
                       f"arrayLength {8 * other.itemsize}-bit values: read as "
                       f"{8 * other.itemsize}-bit")
    if not n and len(raw) % dtype.itemsize == 0:
        return dtype, None
    raise CorruptDataError(
        f"spectrum {spectrum_id!r}: {what} of {len(raw)} bytes holds neither {n} "
        f"{8 * dtype.itemsize}-bit nor {n} {8 * other.itemsize}-bit values (arrayLength {n})",
        path)


def _mz_quality(mz: np.ndarray, lowest: float | None,
                highest: float | None) -> tuple[bool, bool, bool]:
    """(possible, inside the declared range, ascending) for decoded m/z values.

    Possible: finite, positive and below 10^6 - what any spectrometer
    records. The declared lowest/highest m/z only ranks byte orders: the PSI
    tiny1 examples were edited by hand and their MS2 header range (320-1004)
    does not contain their own data (223-531).
    """
    if mz.size == 0:
        return True, True, True
    with np.errstate(invalid="ignore", over="ignore"):
        possible = bool(np.isfinite(mz).all() and mz.min() > 0 and mz.max() < 1e6)
        if not possible:
            return False, False, False
        lo = (lowest or 0.0) * (1 - _MZ_RANGE_SLACK)
        hi = highest * (1 + _MZ_RANGE_SLACK) if highest else np.inf
        inside = bool(mz.min() >= lo and mz.max() <= hi)
        return True, inside, bool((np.diff(mz) >= 0).all())


def _resolve_legacy(arrays: dict, lowest: float | None, highest: float | None,
                    spectrum_id: str, path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode legacy m/z and intensity bytes as the file's structure says they are stored.

    Width: from the byte count and ``arrayLength`` (:func:`_legacy_width`).
    Byte order: little-endian as declared, unless the m/z values read that
    way are impossible (not finite, not positive, above 10^6) or rank below
    big-endian ones (inside the spectrum's declared lowest/highest m/z, then
    ascending); the spectrum's intensities use the same byte order.

    Raises
    ------
    CorruptDataError
        When neither byte order gives possible m/z values, or intensities
        decode to non-finite values.
    """
    notes: list[str] = []
    widths = {}
    for kind, (raw, dtype, n) in arrays.items():
        what = "m/z array" if kind == _MZ_ARRAY else "intensity array"
        widths[kind], note = _legacy_width(raw, dtype, n, what, spectrum_id, path)
        if note:
            notes.append(note)
    order = "<"
    if _MZ_ARRAY in arrays:
        raw = arrays[_MZ_ARRAY][0]
        quality = {o: _mz_quality(np.frombuffer(raw, widths[_MZ_ARRAY].newbyteorder(o)),
                                  lowest, highest) for o in ("<", ">")}
        order = max(("<", ">"), key=lambda o: (*quality[o], o == "<"))
        if not quality[order][0]:
            raise CorruptDataError(
                f"spectrum {spectrum_id!r}: the m/z array decodes to impossible values (not "
                "finite, not positive or above 10^6) in either byte order: not a readable "
                "array", path)
        if order == ">":
            why = ("not possible m/z values" if not quality["<"][0]
                   else "outside the declared m/z range")
            notes.append("binary arrays are stored big-endian (mzML requires little-endian; "
                         f"read little-endian they are {why}): read as big-endian")
    out = {}
    for kind, (raw, _, _) in arrays.items():
        arr = np.frombuffer(raw, widths[kind].newbyteorder(order))
        out[kind] = arr.astype(arr.dtype.newbyteorder("="))
    inten = out.get(_INT_ARRAY, np.empty(0))
    if inten.size and not np.isfinite(inten).all():
        raise CorruptDataError(f"spectrum {spectrum_id!r}: intensity array holds non-finite "
                               "values", path)
    return out.get(_MZ_ARRAY, np.empty(0)), inten, notes


def _float(value: bytes | None) -> float | None:
    if value is None or not value.strip():
        return None
    return float(value)


def _array_sections(block: bytes, start: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each ``<binaryDataArray>`` element from ``start`` on."""
    pos = start
    while True:
        begin = _find_array(block, pos)
        if begin < 0:
            return
        end = block.find(b"</binaryDataArray>", begin)
        if end < 0:
            raise ValueError("unterminated binaryDataArray")
        yield begin, end
        pos = end + 18


def _find_array(block: bytes, pos: int) -> int:
    """Position of the next ``<binaryDataArray`` start tag (not ``...List``) or -1."""
    while True:
        i = block.find(b"<binaryDataArray", pos)
        if i < 0 or block[i + 16:i + 17] in (b" ", b">", b"\t", b"\r", b"\n"):
            return i
        pos = i + 16


def parse_spectrum(block: bytes, index: int, groups: dict, path=None,
                   legacy: bool = False) -> ScanRecord:
    """Parse one ``<spectrum>...</spectrum>`` block into a :class:`ScanRecord`.

    ``legacy`` reads the pre-1.0 drafts (0.93, 0.99.x): ``msLevel`` attribute,
    arrays directly in the spectrum, ``dataType``/``compressionType``
    attributes, MS:1000040 precursor m/z, scan times without a unit in
    seconds, and array encodings checked against the file's structure (module
    docstring).
    """
    tag_end = block.find(b">")
    tag = _attrs(block[:tag_end])
    spectrum_id = _text(tag.get(b"id", b"")) or f"index={index}"
    n_default = int(tag.get(b"defaultArrayLength", b"0") or 0)
    split = block.find(b"<binaryDataArrayList")
    if split < 0 and legacy:
        split = _find_array(block, 0)
    meta = block if split < 0 else block[:split]
    meta = _expand_groups(meta, groups)
    rec = ScanRecord(index=index, id=spectrum_id, mz=np.empty(0), intensity=np.empty(0))
    params: dict = {}
    time_missing_unit = False
    lowest = highest = None
    for cv in _cvparams(meta):
        acc = cv.get(b"accession", b"")
        value = cv.get(b"value")
        if acc == b"MS:1000511":
            rec.ms_level = int(value)
        elif acc == b"MS:1000127":
            rec.centroided = True
        elif acc == b"MS:1000128":
            rec.centroided = False
        elif acc == b"MS:1000130":
            rec.polarity = "positive"
        elif acc == b"MS:1000129":
            rec.polarity = "negative"
        elif acc == b"MS:1000016" and rec.retention_time_s is None:
            unit = cv.get(b"unitAccession", b"").decode()
            time_missing_unit = unit not in _TIME_FACTORS
            factor = 1.0 if legacy and not unit else 60.0
            rec.retention_time_s = float(value) * _TIME_FACTORS.get(unit, factor)
        elif acc == b"MS:1000744" and rec.precursor_mz is None:
            rec.precursor_mz = float(value)
        elif legacy and acc == b"MS:1000040" and rec.precursor_mz is None:
            rec.precursor_mz = float(value)  # 0.9x: "m/z" in <ionSelection>
        elif acc == b"MS:1000041" and rec.precursor_charge is None:
            rec.precursor_charge = int(float(value))
        elif acc == b"MS:1000045" and rec.collision_energy_ev is None:
            rec.collision_energy_ev = _float(value)
        else:
            if acc == _LOWEST_MZ:
                lowest = _float(value)
            elif acc == _HIGHEST_MZ:
                highest = _float(value)
            params.setdefault(_text(cv.get(b"name", acc)), _text(value or b""))
    if rec.ms_level is None and legacy and tag.get(b"msLevel", b"").strip().isdigit():
        rec.ms_level = int(tag[b"msLevel"])
    if time_missing_unit:
        params["scan start time unit"] = ("missing; seconds assumed" if legacy
                                          else "missing; minutes assumed")
        if legacy:
            rec.notes.append("scan times have no unit: seconds assumed (the unit ReAdW, "
                             "which wrote these drafts, used)")
    if rec.precursor_mz is None and "isolation window target m/z" in params:
        rec.precursor_mz = float(params["isolation window target m/z"])
    if legacy and rec.collision_energy_ev is not None and \
            rec.collision_energy_ev == rec.precursor_mz:
        # ReAdW's 0.99 prototype wrote the precursor m/z as the collision energy
        rec.collision_energy_ev = None
        params["collision energy"] = "same value as the precursor m/z (writer bug): dropped"
        rec.notes.append("collision energy equals the precursor m/z (a writer bug): dropped")
    act = re.search(rb"<activation\b.*?</activation>", meta, re.DOTALL)
    if act:
        names = [_text(cv.get(b"name", b"")) for cv in _cvparams(act.group(0))
                 if cv.get(b"accession", b"").decode() not in _ACTIVATION_VALUES]
        rec.activation = ", ".join(names) or None
    rec.params = params
    if split >= 0:
        _read_arrays(rec, block, split, n_default, groups, path, legacy, lowest, highest)
    if n_default and rec.mz.size == 0 and rec.intensity.size == 0:
        rec.notes.append(f"declares {n_default} points (defaultArrayLength) but holds no "
                         "m/z and intensity arrays: read as an empty spectrum")
    if rec.mz.size != rec.intensity.size:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: m/z array has {rec.mz.size} values but intensity array "
            f"has {rec.intensity.size}", path)
    return rec


def _read_arrays(rec: ScanRecord, block: bytes, split: int, n_default: int, groups: dict,
                 path, legacy: bool, lowest: float | None, highest: float | None) -> None:
    """Decode the spectrum's m/z and intensity arrays into ``rec``."""
    try:
        sections = list(_array_sections(block, split))
    except ValueError as exc:
        raise CorruptDataError(f"spectrum {rec.id!r}: {exc}", path) from exc
    found = {}
    for start, end in sections:
        kind, values, dtype, n = _decode_array(block[start:end], n_default, rec.id, groups,
                                               path, legacy)
        if kind in (_MZ_ARRAY, _INT_ARRAY):
            found[kind] = (values, dtype, n)
    if legacy:
        rec.mz, rec.intensity, notes = _resolve_legacy(found, lowest, highest, rec.id, path)
        rec.notes.extend(notes)
        return
    if _MZ_ARRAY in found:
        rec.mz = found[_MZ_ARRAY][0]
    if _INT_ARRAY in found:
        rec.intensity = found[_INT_ARRAY][0]



def _find_list_end(buf: bytes) -> int:
    """Position of ``</spectrumList>`` or of an empty ``<spectrumList .../>``, or -1."""
    end = buf.find(b"</spectrumList>")
    if end >= 0:
        return end
    match = re.search(rb"<spectrumList\b[^>]*/>", buf)
    return match.start() if match else -1


def _find_open(buf: bytes, pos: int) -> int:
    """Position of the next ``<spectrum`` start tag (not ``<spectrumList``) or -1."""
    while True:
        i = buf.find(b"<spectrum", pos)
        if i < 0 or i + 9 >= len(buf):
            return i
        if buf[i + 9] in b" \t\r\n>":
            return i
        pos = i + 9


class SpectrumScanner:
    """Iterate over the spectra of an mzML file, streaming.

    Parameters
    ----------
    path : path-like
    chunk_bytes : int
        Read size in bytes.

    Attributes
    ----------
    header : MzmlHeader or None
        Available once the first spectrum (or the end of the list) was reached.
    header_bytes : bytes
        The raw text before the first spectrum (at most MAX_HEADER_BYTES).
    count : int
        Spectra yielded so far.
    offset : int
        Byte offset in the file of the block last yielded by :meth:`blocks`.
    """

    def __init__(self, path, chunk_bytes: int = CHUNK_BYTES):
        self.path = Path(path)
        self.chunk_bytes = chunk_bytes
        self.header: MzmlHeader | None = None
        self.header_bytes = b""  # the raw text before the first spectrum
        self.count = 0
        self.offset = 0

    def blocks(self) -> Iterator[bytes]:
        """Yield the raw bytes of each ``<spectrum>`` element in file order."""
        head = b""
        buf = b""
        base = 0  # file offset of buf[0]
        pos = 0
        searched = 0
        finished = False
        with open_binary(self.path) as fh:
            eof = False
            while not eof:
                chunk = fh.read(self.chunk_bytes)
                eof = not chunk
                base += pos
                buf = buf[pos:] + chunk
                pos = 0
                if self.header is None:
                    start = _find_open(buf, 0)
                    end_list = _find_list_end(buf)
                    if start < 0 and end_list < 0 and not eof:
                        if len(buf) > MAX_HEADER_BYTES:
                            head = head or buf[:MAX_HEADER_BYTES]
                            base += len(buf) - 64
                            buf = buf[-64:]
                        continue
                    cut = start if start >= 0 else (end_list if end_list >= 0 else len(buf))
                    self.header_bytes = head or buf[:cut]
                    self.header = parse_header(self.header_bytes)
                    pos = cut
                while True:
                    start = _find_open(buf, pos)
                    if start < 0:
                        if _find_list_end(buf[pos:]) >= 0:
                            finished = True
                        # keep a tail in case a start tag straddles the chunk boundary
                        pos = max(pos, len(buf) - 16)
                        break
                    # resume the end-tag search where the last chunk stopped, so a
                    # spectrum larger than a chunk is not rescanned from its start
                    # (the partial spectrum was moved to the buffer start when more was read)
                    end = buf.find(b"</spectrum>", start + (searched if start == 0 else 0))
                    if end < 0:
                        searched = max(0, len(buf) - start - 11)
                        pos = start
                        break
                    searched = 0
                    self.offset = base + start
                    yield buf[start:end + 11]
                    self.count += 1
                    pos = end + 11
                if finished:
                    return
        if self.header is None:
            raise CorruptDataError("no <spectrumList> found: not a complete mzML file", self.path)
        if self.count == 0 and b"<spectrumList" not in self.header_bytes \
                and _COMPLETE.search(buf[-4096:]):
            self._no_spectrum_list()
        if _find_open(buf, pos) >= 0:
            raise TruncatedDataError(
                f"file ends inside spectrum {self.count + 1}: the mzML is truncated", self.path)
        raise TruncatedDataError(
            f"file ends after {self.count} spectra without </spectrumList>: the mzML is "
            "truncated", self.path)

    def _no_spectrum_list(self):
        """A complete mzML without a spectrumList: chromatograms only, or nothing."""
        n_chrom = self.header.chromatograms
        if n_chrom is None:
            n_chrom = self.header_bytes.count(b"<chromatogram ")
        self.header.chromatograms = n_chrom
        if n_chrom:
            raise NoSpectraError(
                f"holds chromatograms only ({n_chrom} chromatograms, no spectrumList): there "
                "are no mass spectra to process; fentid does not read chromatograms (convert "
                "the acquisition again with its spectra)", self.path)
        raise NoSpectraError("a complete mzML file without spectra or chromatograms "
                             "(no spectrumList)", self.path)

    def __iter__(self) -> Iterator[ScanRecord]:
        for i, block in enumerate(self.blocks()):
            rec = _parse_checked(block, i, self.header.groups, self.path, self.header.legacy)
            rec.offset = self.offset
            yield rec


#: The end of a complete (indexed) mzML file.
_COMPLETE = re.compile(rb"</(?:indexedmzML|mzML)>\s*$")


def _parse_checked(block: bytes, index: int, groups: dict, path,
                   legacy: bool = False) -> ScanRecord:
    """:func:`parse_spectrum`, with malformed values reported as CorruptDataError."""
    try:
        return parse_spectrum(block, index, groups, path, legacy)
    except (ValueError, KeyError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise CorruptDataError(
            f"spectrum {index + 1}: malformed value: {type(exc).__name__}: {exc}",
            path) from exc


def read_record_at(path, offset: int, index: int = 0,
                   chunk_bytes: int = 1 << 20) -> ScanRecord:
    """Read the one spectrum whose ``<spectrum`` tag starts at byte ``offset``.

    Random access for viewers: only the header (for shared param groups) and
    that spectrum's bytes are read, whatever the file size.

    Parameters
    ----------
    path : path-like
    offset : int
        Byte offset of the start tag, as in :attr:`ScanRecord.offset` or the
        ``<offset>`` entries of an indexed mzML.
    index : int
        0-based spectrum position, for the record and messages.

    Raises
    ------
    CorruptDataError
        No spectrum starts at ``offset`` (the file changed since it was
        indexed?) or the spectrum is truncated or malformed.
    """
    scanner = SpectrumScanner(path, chunk_bytes)
    for _ in scanner.blocks():
        break  # the header is parsed when the first spectrum is reached
    if scanner.header is None or offset < 0:
        raise CorruptDataError(f"no spectrum at byte offset {offset}", path)
    with open_binary(path) as fh:
        fh.seek(offset)
        buf = fh.read(chunk_bytes)
        if _find_open(buf[:16], 0) != 0:
            raise CorruptDataError(
                f"no <spectrum> starts at byte offset {offset}: the file changed since it "
                "was read?", path)
        searched = 0
        while (end := buf.find(b"</spectrum>", searched)) < 0:
            chunk = fh.read(chunk_bytes)
            if not chunk:
                raise TruncatedDataError(
                    f"file ends inside the spectrum at byte offset {offset}: truncated", path)
            searched = max(0, len(buf) - 11)
            buf += chunk
    rec = _parse_checked(buf[:end + 11], index, scanner.header.groups, path,
                         scanner.header.legacy)
    rec.offset = offset
    return rec


def iter_records(path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[ScanRecord]:
    """Stream the spectra of an mzML file as :class:`ScanRecord` (arrays in stored dtype).

    Raises
    ------
    CorruptDataError
        Truncated file, invalid base64/zlib, array lengths that disagree.
    """
    return iter(SpectrumScanner(path, chunk_bytes))
