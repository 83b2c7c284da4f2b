"""mzXML (ISB/Sashimi) mass spectra.

Format notes
------------
- Layout: XML, ``<mzXML><msRun scanCount=".."><msInstrument>..</msInstrument>
  <scan num=".." msLevel=".." peaksCount=".." retentionTime="PT5.0005S" ...>
  [<precursorMz precursorCharge=".." activationMethod="..">810.79</precursorMz>]
  <peaks precision="32" byteOrder="network" pairOrder="m/z-int"
  compressionType="zlib">base64</peaks></scan>...</msRun><index>..</index></mzXML>``.
  Versions 2.x-3.2 differ in namespace and attribute names (``pairOrder`` vs
  ``contentType``); MSn scans may be nested inside their survey scan (2.x).
- Peaks: base64 of interleaved (m/z, intensity) pairs, big-endian ("network")
  32- or 64-bit floats, optionally zlib-compressed (``compressionType="zlib"``);
  the decoded pair count must equal ``peaksCount``.
- ``retentionTime`` is an xs:duration (``PT1.5S``, ``PT2M3.1S``), converted to seconds.
- Quirks: ``msRun scanCount`` often counts the original run, not what is present
  (our samples: 3113 declared, 2 present), so it is reported, not trusted.
- Reading: lxml ``iterparse`` with elements cleared after use, so memory stays at
  one scan (plus the nested MSn scans waiting for their survey scan, which
  ends after them); the result has the same shape as the mzML driver's (a Run
  of MS1 scans plus one Spectrum per MSn scan), with the same memory policy
  for profile runs (``fentid.drivers.mzml`` docstring, "Memory"): past
  ``profile_budget_mb`` profile scans are centroided as they stream.
  :func:`read_scan` re-reads one scan by its number (for
  :func:`fentid.drivers.mzml.read_scan_profile`).
- gzip (``.mzXML.gz``) streams through :func:`fentid.drivers._gzip.open_binary`; XML
  parser errors are reported on one line with their position. A parser error in a
  file that does not end with ``</mzXML>`` (half-written, or cut short) is a
  :class:`~fentid.errors.TruncatedDataError` (the watch-folder service retries it);
  in a file that does, a :class:`~fentid.errors.CorruptDataError`.
- Sources: mzXML 2.1/3.2 schema (Pedrioli et al. 2004), pyteomics.mzxml.
"""

from __future__ import annotations

import heapq
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fentid.drivers._gzip import open_binary
from fentid.drivers._mzml_fast import MzmlHeader, ScanRecord, decode_base64
from fentid.drivers._tail import ends_with_closing_tag
from fentid.drivers.mzml import PROFILE_BUDGET_MB, SCAN_READERS, build_dataset
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, FormatError, TruncatedDataError
from fentid.spectra.model import Dataset

NAME = "mzxml"
_DATA_PROCESSING = re.compile(rb'<dataProcessing\b[^>]*?\scentroided\s*=\s*"([^"]*)"')
_DURATION = re.compile(r"^\s*(-)?P(?:(\d+(?:\.\d*)?)D)?(?:T(?:(\d+(?:\.\d*)?)H)?"
                       r"(?:(\d+(?:\.\d*)?)M)?(?:(\d+(?:\.\d*)?)S)?)?\s*$")


def sniff(path: Path, head: bytes) -> bool:
    """An ``<mzXML`` root element in the first bytes."""
    return b"<mzXML" in head


def parse_duration_s(text: str) -> float:
    """xs:duration (``PT5.0005S``, ``PT1M2S``) or a bare number of seconds -> seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not match or not any(match.groups()[1:]):
        raise ValueError(f"retentionTime {text!r} is not an xs:duration")
    sign, days, hours, minutes, seconds = match.groups()
    total = (float(days or 0) * 86400 + float(hours or 0) * 3600 + float(minutes or 0) * 60
             + float(seconds or 0))
    return -total if sign else total


def decode_peaks(text: str, attrs: dict, n_declared: int | None, label: str,
                 path) -> tuple[np.ndarray, np.ndarray]:
    """Decode a ``<peaks>`` payload into (mz, intensity) arrays of the stored precision."""
    precision = attrs.get("precision", "32")
    if precision not in ("32", "64"):
        raise CorruptDataError(f"{label}: peaks precision {precision!r} is not 32 or 64", path)
    order = ">" if attrs.get("byteOrder", "network") in ("network", "big") else "<"
    dtype = np.dtype(f"{order}f{int(precision) // 8}")
    pair = attrs.get("pairOrder") or attrs.get("contentType") or "m/z-int"
    if pair not in ("m/z-int", "m/z-intensity"):
        raise FormatError(f"{label}: peaks content {pair!r} is not m/z-intensity pairs", path)
    payload = (text or "").encode("ascii", "replace")
    raw = decode_base64(payload, f"{label}: peaks", path)
    if attrs.get("compressionType", "none") == "zlib" and raw:
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise CorruptDataError(f"{label}: zlib peaks cannot be decompressed: {exc}",
                                   path) from exc
    if len(raw) % (2 * dtype.itemsize):
        raise CorruptDataError(
            f"{label}: peaks of {len(raw)} bytes are not whole (m/z, intensity) pairs", path)
    pairs = np.frombuffer(raw, dtype=dtype).reshape(-1, 2)
    if n_declared is not None and pairs.shape[0] != n_declared:
        raise CorruptDataError(
            f"{label}: {pairs.shape[0]} peaks decoded but peaksCount is {n_declared}", path)
    native = dtype.newbyteorder("=")
    return pairs[:, 0].astype(native), pairs[:, 1].astype(native)


def xml_error_text(exc) -> str:
    """An lxml XMLSyntaxError as one line: where (line, column) and what."""
    # lxml's msg ends with "\n, line L, column C": keep the text before the break
    msg = (getattr(exc, "msg", None) or str(exc)).split("\n", 1)[0]
    text = " ".join(msg.split()).rstrip(",. ")
    where = getattr(exc, "position", None)
    if where and where[0]:
        text = f"{text} at line {where[0]}, column {where[1]}"
    return text


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Reader:
    """Streams ScanRecords from an mzXML file and collects its header facts."""

    def __init__(self, path: Path):
        self.path = path
        self.header = MzmlHeader(None, None, None, {})
        self.centroided: bool | None = None  # <dataProcessing centroided="1">, file-wide

    def __iter__(self) -> Iterator[ScanRecord]:
        from lxml import etree

        order = 0
        pending: dict[int, int] = {}
        with open_binary(self.path) as fh:
            yield from self._parse(etree, fh, order, pending)

    def _parse(self, etree, fh, order: int, pending: dict) -> Iterator[ScanRecord]:
        try:
            for event, el in etree.iterparse(fh, events=("start", "end"),
                                             huge_tree=True, resolve_entities=False):
                name = _local(el.tag)
                if event == "start":
                    if name == "scan":
                        pending[id(el)] = order
                        order += 1
                    elif name == "dataProcessing" and el.get("centroided") is not None:
                        self.centroided = el.get("centroided") in ("1", "true")
                    elif name == "msRun":
                        count = el.get("scanCount")
                        if count and count.isdigit():
                            self.header.declared_count = int(count)
                    continue
                if name == "scan":
                    yield self._record(el, pending.pop(id(el)))
                    el.clear(keep_tail=True)
                elif name == "msModel" and self.header.instrument is None:
                    self.header.instrument = el.get("value")
                elif name == "msIonisation":
                    self.header.ionization = el.get("value")
        except etree.XMLSyntaxError as exc:
            # a file without its closing tag is half-written (or cut short): retry later
            error = (TruncatedDataError if not ends_with_closing_tag(self.path, "mzXML")
                     else CorruptDataError)
            raise error(f"not well-formed mzXML (truncated or damaged?): "
                        f"{xml_error_text(exc)}", self.path) from exc

    def _record(self, el, index: int) -> ScanRecord:
        num = el.get("num", str(index + 1))
        label = f"scan {num}"
        try:
            level = int(el.get("msLevel", "1"))
            n_declared = int(el.get("peaksCount")) if el.get("peaksCount") else None
            rt = el.get("retentionTime")
            rt_s = parse_duration_s(rt) if rt else None
        except ValueError as exc:
            raise CorruptDataError(f"{label}: {exc}", self.path) from exc
        mz = inten = np.empty(0)
        rec = ScanRecord(index=index, id=f"scan={num}", mz=mz, intensity=inten, ms_level=level,
                         retention_time_s=rt_s)
        centroided = el.get("centroided")
        rec.centroided = (centroided in ("1", "true") if centroided is not None
                          else self.centroided)
        rec.polarity = {"+": "positive", "-": "negative"}.get(el.get("polarity"))
        if el.get("collisionEnergy"):
            rec.collision_energy_ev = float(el.get("collisionEnergy"))
        rec.params = {k: v for k, v in el.attrib.items()}
        for child in el:
            cname = _local(child.tag)
            if cname == "peaks":
                rec.mz, rec.intensity = decode_peaks(child.text, dict(child.attrib), n_declared,
                                                     label, self.path)
            elif cname == "precursorMz" and rec.precursor_mz is None:
                try:
                    rec.precursor_mz = float(child.text)
                    charge = child.get("precursorCharge")
                    rec.precursor_charge = int(charge) if charge else None
                except (TypeError, ValueError) as exc:
                    raise CorruptDataError(f"{label}: bad precursorMz: {exc}",
                                           self.path) from exc
                rec.activation = child.get("activationMethod")
        if n_declared and rec.mz.size == 0:
            rec.notes.append(f"declares peaksCount={n_declared} but has no <peaks> data: read "
                             "as an empty scan")
        return rec


def _in_file_order(records) -> Iterator[ScanRecord]:
    """Yield records by ``index``; nested MSn scans end (and arrive) before their parent.

    Only the records waiting for an earlier one are held (one survey scan's
    MSn scans), so streaming is preserved.
    """
    waiting: list = []
    expected = 0
    for rec in records:
        heapq.heappush(waiting, (rec.index, id(rec), rec))
        while waiting and waiting[0][0] == expected:
            yield heapq.heappop(waiting)[2]
            expected += 1
    while waiting:
        yield heapq.heappop(waiting)[2]


def read(path: Path, *, profile_budget_mb: float = PROFILE_BUDGET_MB,
         nominal_boundary: float | None = None) -> Dataset:
    """Read an mzXML file: a Run of the MS1 scans plus one Spectrum per MSn scan.

    ``metadata`` has the same keys as the mzML driver's; ``declared_count`` is the
    ``msRun scanCount`` attribute (a DataQualityWarning when it disagrees).
    ``profile_budget_mb`` and ``nominal_boundary`` as for
    :func:`fentid.drivers.mzml.read` (profile scans past the budget are
    centroided while streaming).

    Raises
    ------
    CorruptDataError
        Malformed or truncated XML, invalid base64/zlib, peak counts that disagree.
    """
    reader = _Reader(path)
    return build_dataset(path, NAME, _in_file_order(reader), lambda: reader.header,
                         "msRun scanCount", profile_budget_mb=profile_budget_mb,
                         nominal_boundary=nominal_boundary)


def read_scan(path, scan_id: str, chunk_bytes: int = 1 << 20) -> ScanRecord:
    """Re-read one scan of an mzXML file, as stored, by its id (``"scan=19"``).

    The file is searched for the scan's start tag chunk by chunk (memory: one
    chunk), and only that scan's attributes and ``<peaks>`` are parsed.

    Raises
    ------
    CorruptDataError
        No such scan, or it is truncated or malformed.
    """
    from lxml import etree

    num = scan_id.removeprefix("scan=")
    start_tag = re.compile(rb'<scan\b[^>]*?\snum\s*=\s*"' + re.escape(num.encode()) + rb'"')
    reader = _Reader(path)
    with open_binary(path) as fh:
        buf = b""
        while True:
            chunk = fh.read(chunk_bytes)
            buf += chunk
            if reader.centroided is None:  # file-wide <dataProcessing centroided="1">
                flag = _DATA_PROCESSING.search(buf)
                reader.centroided = flag.group(1) in (b"1", b"true") if flag else None
            match = start_tag.search(buf)
            if match or not chunk:
                break
            buf = buf[-4096:]  # a start tag may straddle the chunk boundary
        if not match:
            raise CorruptDataError(f"no scan with num={num} in the file", path)
        buf = buf[match.start():]
        # the scan's own peaks come before any nested MSn scan
        while (end := _scan_end(buf)) < 0:
            chunk = fh.read(chunk_bytes)
            if not chunk:
                raise TruncatedDataError(f"file ends inside scan {num}: truncated", path)
            buf += chunk
    snippet = buf[:end]
    if not snippet.rstrip().endswith(b"</scan>"):
        snippet += b"</scan>"
    try:
        el = etree.fromstring(snippet, etree.XMLParser(huge_tree=True, resolve_entities=False,
                                                       recover=False))
    except etree.XMLSyntaxError as exc:
        raise CorruptDataError(f"scan {num} is not well-formed: {xml_error_text(exc)}",
                               path) from exc
    return reader._record(el, 0)


def _scan_end(buf: bytes) -> int:
    """End of a scan's own content: after its ``</peaks>`` or its ``</scan>``, or -1."""
    peaks = buf.find(b"</peaks>")
    close = buf.find(b"</scan>")
    if peaks >= 0 and (close < 0 or peaks < close):
        return peaks + len(b"</peaks>")
    return close + len(b"</scan>") if close >= 0 else -1


register(Driver(NAME, sniff, read, "ms", "mzXML mass spectra (ISB)", (".mzxml",),
                reads_gzip=True))
SCAN_READERS[NAME] = read_scan
