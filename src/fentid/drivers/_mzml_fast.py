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
tens of MB (benchmarks/bench_mzml_read.py measures it).
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

from fentid.errors import CorruptDataError, FormatError

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
_GROUP_REF = re.compile(rb'<referenceableParamGroupRef\s+ref="([^"]*)"')
_GROUP = re.compile(rb'<referenceableParamGroup\s+id="([^"]*)"\s*>(.*?)</referenceableParamGroup>',
                    re.DOTALL)
_SPECTRUM_LIST = re.compile(rb"<spectrumList\b([^>]*)>")


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


@dataclass
class MzmlHeader:
    """File-level facts from the part of the file before the first spectrum."""

    declared_count: int | None
    instrument: str | None
    ionization: str | None
    groups: dict


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


def parse_header(head: bytes) -> MzmlHeader:
    """Read the spectrum count, instrument and ionisation from the file header."""
    groups = {gid: body for gid, body in _GROUP.findall(head)}
    declared = None
    match = _SPECTRUM_LIST.search(head)
    if match:
        count = _attrs(match.group(1)).get(b"count")
        if count is not None and count.strip().isdigit():
            declared = int(count)
    instrument = ionization = None
    conf = re.search(rb"<instrumentConfiguration\b.*?</instrumentConfiguration>", head, re.DOTALL)
    if conf:
        block = conf.group(0)
        outside = re.sub(rb"<componentList\b.*?</componentList>", b"", block, flags=re.DOTALL)
        # instrument model: the first cvParam outside the components that is not a
        # serial number or customisation (MS:1000529, MS:1000032)
        for cv in _cvparams(_expand_groups(outside, groups)):
            if cv.get(b"accession") not in (b"MS:1000529", b"MS:1000032"):
                instrument = _text(cv.get(b"name", b"")) or None
                break
        source = re.search(rb"<source\b.*?</source>", block, re.DOTALL)
        if source:
            names = [_text(cv.get(b"name", b"")) for cv in _cvparams(source.group(0))]
            chosen = [n for n in names if ("ioniz" in n or "spray" in n) and "inlet" not in n]
            ionization = chosen[0] if chosen else None
    return MzmlHeader(declared, instrument, ionization, groups)


def _decode_array(section: bytes, n_default: int, spectrum_id: str, groups: dict,
                  path) -> tuple[str, np.ndarray]:
    """Decode one ``<binaryDataArray>``; returns (array-type accession, array)."""
    # split off the payload first: regular expressions must never scan the base64 text
    bin_start = section.find(b"<binary>")
    if bin_start >= 0:
        bin_end = section.rfind(b"</binary>")
        if bin_end < bin_start:
            raise CorruptDataError(f"spectrum {spectrum_id!r}: unterminated <binary>", path)
        payload = section[bin_start + 8:bin_end]
        params = section[:bin_start]
    else:
        payload, params = b"", section
    params = _expand_groups(params, groups)
    dtype = compression = kind = None
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
        elif acc in (_MZ_ARRAY, _INT_ARRAY) or kind is None and cv.get(b"name", b"").endswith(
                b"array"):
            kind = acc
    if dtype is None:
        raise CorruptDataError(f"spectrum {spectrum_id!r}: binary array without a data type",
                               path)
    tag = _attrs(params[:params.find(b">")])
    n = int(tag[b"arrayLength"]) if b"arrayLength" in tag else n_default
    raw = decode_base64(payload, f"spectrum {spectrum_id!r}: binary array", path)
    if compression == _ZLIB and raw:
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise CorruptDataError(
                f"spectrum {spectrum_id!r}: zlib data cannot be decompressed: {exc}", path
            ) from exc
    if len(raw) % dtype.itemsize:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: binary array of {len(raw)} bytes is not a whole number "
            f"of {dtype.itemsize}-byte values", path)
    arr = np.frombuffer(raw, dtype=dtype)
    if arr.size != n:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: binary array has {arr.size} values but the spectrum "
            f"declares {n}", path)
    return kind, arr


def _float(value: bytes | None) -> float | None:
    if value is None or not value.strip():
        return None
    return float(value)


def parse_spectrum(block: bytes, index: int, groups: dict, path=None) -> ScanRecord:
    """Parse one ``<spectrum>...</spectrum>`` block into a :class:`ScanRecord`."""
    tag_end = block.find(b">")
    tag = _attrs(block[:tag_end])
    spectrum_id = _text(tag.get(b"id", b"")) or f"index={index}"
    n_default = int(tag.get(b"defaultArrayLength", b"0") or 0)
    split = block.find(b"<binaryDataArrayList")
    meta = block if split < 0 else block[:split]
    meta = _expand_groups(meta, groups)
    rec = ScanRecord(index=index, id=spectrum_id, mz=np.empty(0), intensity=np.empty(0))
    params: dict = {}
    time_missing_unit = False
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
            rec.retention_time_s = float(value) * _TIME_FACTORS.get(unit, 60.0)
        elif acc == b"MS:1000744" and rec.precursor_mz is None:
            rec.precursor_mz = float(value)
        elif acc == b"MS:1000041" and rec.precursor_charge is None:
            rec.precursor_charge = int(float(value))
        elif acc == b"MS:1000045" and rec.collision_energy_ev is None:
            rec.collision_energy_ev = _float(value)
        else:
            params.setdefault(_text(cv.get(b"name", acc)), _text(value or b""))
    if time_missing_unit:
        params["scan start time unit"] = "missing; minutes assumed"
    if rec.precursor_mz is None and "isolation window target m/z" in params:
        rec.precursor_mz = float(params["isolation window target m/z"])
    act = re.search(rb"<activation\b.*?</activation>", meta, re.DOTALL)
    if act:
        names = [_text(cv.get(b"name", b"")) for cv in _cvparams(act.group(0))
                 if cv.get(b"accession", b"").decode() not in _ACTIVATION_VALUES]
        rec.activation = ", ".join(names) or None
    rec.params = params
    if split >= 0:
        pos = split
        while True:
            start = block.find(b"<binaryDataArray ", pos)
            if start < 0:
                start = block.find(b"<binaryDataArray>", pos)
            if start < 0:
                break
            end = block.find(b"</binaryDataArray>", start)
            if end < 0:
                raise CorruptDataError(f"spectrum {spectrum_id!r}: unterminated binaryDataArray",
                                       path)
            kind, arr = _decode_array(block[start:end], n_default, spectrum_id, groups, path)
            if kind == _MZ_ARRAY:
                rec.mz = arr
            elif kind == _INT_ARRAY:
                rec.intensity = arr
            pos = end + 18
    if rec.mz.size != rec.intensity.size:
        raise CorruptDataError(
            f"spectrum {spectrum_id!r}: m/z array has {rec.mz.size} values but intensity array "
            f"has {rec.intensity.size}", path)
    return rec


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
        with open(self.path, "rb") as fh:
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
        if _find_open(buf, pos) >= 0:
            raise CorruptDataError(
                f"file ends inside spectrum {self.count + 1}: the mzML is truncated", self.path)
        raise CorruptDataError(
            f"file ends after {self.count} spectra without </spectrumList>: the mzML is "
            "truncated", self.path)

    def __iter__(self) -> Iterator[ScanRecord]:
        for i, block in enumerate(self.blocks()):
            rec = _parse_checked(block, i, self.header.groups, self.path)
            rec.offset = self.offset
            yield rec


def _parse_checked(block: bytes, index: int, groups: dict, path) -> ScanRecord:
    """:func:`parse_spectrum`, with malformed values reported as CorruptDataError."""
    try:
        return parse_spectrum(block, index, groups, path)
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
    with open(path, "rb") as fh:
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
                raise CorruptDataError(
                    f"file ends inside the spectrum at byte offset {offset}: truncated", path)
            searched = max(0, len(buf) - 11)
            buf += chunk
    rec = _parse_checked(buf[:end + 11], index, scanner.header.groups, path)
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
