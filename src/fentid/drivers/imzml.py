"""imzML mass-spectrometry images: an ``.imzML`` XML file plus its ``.ibd`` binary file.

Format notes
------------
- Layout: the ``.imzML`` is mzML 1.1 with the IMS controlled vocabulary. Each
  ``<spectrum>`` is one pixel (IMS:1000050/1000051 position x/y, 1-based); its
  ``<binaryDataArray>`` elements hold no base64 but point into the ``.ibd``
  (IMS:1000102 external offset in bytes, IMS:1000103 external array length in
  values, IMS:1000104 external encoded length in bytes). Data type and
  compression usually come from referenceableParamGroups (``mzArray``,
  ``intensityArray``). Little-endian.
- Storage mode (fileContent): *continuous* (IMS:1000030, every pixel shares one
  m/z array, stored once) or *processed* (IMS:1000031, each pixel has its own).
- The ``.ibd`` starts with the 16-byte UUID also written in the header
  (IMS:1000080); we check it so that a mismatched pair is refused. The header's
  ``ibd SHA-1`` (IMS:1000091) is reported, not recomputed (that would read the
  whole binary file, which can be many GB).
- Quirks: the imzML.org example files declare ``ms level`` 0 for MS1 spectra;
  we report level 1. ``max count of pixels x/y`` (IMS:1000042/43) gives the grid.
- Reading: the same byte-level scanner as the mzML driver (no pyimzml at run
  time; tests compare against pyimzml). An ``.ibd`` path reads its ``.imzML``.
- Sources: imzML 1.1.1 specification (imzml.org), imagingMS.obo, pyimzML.
"""

from __future__ import annotations

import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from fentid.drivers._mzml_fast import (
    _DTYPES,
    _INT_ARRAY,
    _MZ_ARRAY,
    _ZLIB,
    SpectrumScanner,
    _attrs,
    _cvparams,
    _expand_groups,
    _text,
)
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra.model import Dataset, Provenance, Spectrum, hash_source

NAME = "imzml"
_UUID = re.compile(rb'accession="IMS:1000080"[^>]*value="([^"]*)"')


def _uuid_hex(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _sibling(path: Path, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def sniff(path: Path, head: bytes) -> bool:
    """An mzML root with the IMS vocabulary, or an ``.ibd`` whose UUID its ``.imzML`` names."""
    if b"<mzML" in head:
        return b"IMS:1000" in head or b'id="IMS"' in head
    if path.suffix.lower() != ".ibd" or len(head) < 16:
        return False
    imzml = _sibling(path, (".imzML", ".imzml", ".IMZML"))
    if imzml is None:
        return False
    with open(imzml, "rb") as fh:
        match = _UUID.search(fh.read(1 << 16))
    return bool(match) and _uuid_hex(match.group(1).decode("ascii", "replace")) == head[:16].hex()


def _header_facts(head: bytes) -> dict:
    facts: dict = {}
    for cv in _cvparams(head):
        acc = cv.get(b"accession", b"").decode()
        value = _text(cv.get(b"value", b""))
        if acc == "IMS:1000030":
            facts["storage"] = "continuous"
        elif acc == "IMS:1000031":
            facts["storage"] = "processed"
        elif acc == "IMS:1000080":
            facts["uuid"] = _uuid_hex(value)
        elif acc == "IMS:1000091":
            facts["ibd_sha1"] = value.lower()
        elif acc == "IMS:1000042":
            facts["max_pixels_x"] = int(value)
        elif acc == "IMS:1000043":
            facts["max_pixels_y"] = int(value)
        elif acc == "IMS:1000046":
            facts["pixel_size_x_um"] = float(value)
        elif acc == "IMS:1000047":
            facts["pixel_size_y_um"] = float(value)
    return facts


def _external_array(section: bytes, groups: dict, ibd, label: str, path) -> tuple:
    payload = re.search(rb"<binary[\s/>]", section)
    params = _expand_groups(section[:payload.start()] if payload else section, groups)
    dtype = kind = offset = length = encoded = None
    compressed = False
    for cv in _cvparams(params):
        acc = cv.get(b"accession", b"").decode()
        value = cv.get(b"value", b"")
        if acc in _DTYPES:
            dtype = _DTYPES[acc]
        elif acc == _ZLIB:
            compressed = True
        elif acc in (_MZ_ARRAY, _INT_ARRAY):
            kind = acc
        elif acc == "IMS:1000102":
            offset = int(value)
        elif acc == "IMS:1000103":
            length = int(value)
        elif acc == "IMS:1000104":
            encoded = int(value)
    if dtype is None or offset is None or length is None:
        raise CorruptDataError(
            f"{label}: binary array without data type, external offset or length", path)
    nbytes = encoded if encoded is not None else length * dtype.itemsize
    ibd.seek(offset)
    raw = ibd.read(nbytes)
    if len(raw) != nbytes:
        raise CorruptDataError(
            f"{label}: .ibd ends before offset {offset} + {nbytes} bytes (truncated .ibd?)", path)
    if compressed:
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise CorruptDataError(f"{label}: zlib data cannot be decompressed: {exc}",
                                   path) from exc
    if len(raw) != length * dtype.itemsize:
        raise CorruptDataError(
            f"{label}: {len(raw)} bytes in .ibd but {length} values declared", path)
    return kind, np.frombuffer(raw, dtype=dtype)


def _pixel(block: bytes, index: int, groups: dict, ibd, path) -> tuple[dict, np.ndarray,
                                                                       np.ndarray]:
    tag = _attrs(block[:block.find(b">")])
    label = f"spectrum {_text(tag.get(b'id', b'')) or index + 1}"
    split = block.find(b"<binaryDataArrayList")
    meta_raw = _expand_groups(block[:split], groups)
    meta = {"scan_id": _text(tag.get(b"id", b"")), "ms_level": 1, "polarity": None,
            "centroided": False}
    for cv in _cvparams(meta_raw):
        acc = cv.get(b"accession", b"").decode()
        value = cv.get(b"value", b"")
        if acc == "IMS:1000050":
            meta["position_x"] = int(value)
        elif acc == "IMS:1000051":
            meta["position_y"] = int(value)
        elif acc == "IMS:1000052":
            meta["position_z"] = int(value)
        elif acc == "MS:1000511":
            meta["ms_level"] = max(1, int(value))  # the imzML examples write 0
        elif acc == "MS:1000130":
            meta["polarity"] = "positive"
        elif acc == "MS:1000129":
            meta["polarity"] = "negative"
        elif acc == "MS:1000127":
            meta["centroided"] = True
    arrays = {}
    pos = split
    while split >= 0:
        start = block.find(b"<binaryDataArray", pos + 1)
        if start < 0 or block.startswith(b"<binaryDataArrayList", start):
            break
        end = block.find(b"</binaryDataArray>", start)
        kind, arr = _external_array(block[start:end], groups, ibd, label, path)
        arrays[kind] = arr
        pos = end
    mz, inten = arrays.get(_MZ_ARRAY), arrays.get(_INT_ARRAY)
    if mz is None or inten is None or mz.size != inten.size:
        raise CorruptDataError(f"{label}: needs m/z and intensity arrays of equal length", path)
    return meta, mz, inten


def read(path: Path) -> Dataset:
    """Read an imzML image: one Spectrum per pixel (metadata ``position_x``/``position_y``).

    ``metadata`` holds ``storage`` (continuous/processed), ``n_pixels``,
    ``max_pixels_x``/``_y``, ``pixel_size_x_um``, ``mz_range``, ``uuid``, ``ibd_sha1``
    and the keys every MS description has.

    Raises
    ------
    CorruptDataError
        Missing or mismatched ``.ibd`` (UUID), truncated files, bad array lengths.
    """
    path = Path(path)
    if path.suffix.lower() == ".ibd":
        imzml = _sibling(path, (".imzML", ".imzml", ".IMZML"))
        if imzml is None:
            raise CorruptDataError("no .imzML file beside this .ibd", path)
        path = imzml
    ibd_path = _sibling(path, (".ibd", ".IBD"))
    if ibd_path is None:
        raise CorruptDataError(f"the binary file {path.with_suffix('.ibd').name} is missing",
                               path)
    scanner = SpectrumScanner(path)
    sha = hash_source(path)
    items, mz_lo, mz_hi = [], [], []
    facts: dict = {}
    with open(ibd_path, "rb") as ibd:
        ibd_uuid = ibd.read(16).hex()
        for i, block in enumerate(scanner.blocks()):
            if i == 0:
                facts = _header_facts(scanner.header_bytes)
                if facts.get("uuid") and facts["uuid"] != ibd_uuid:
                    raise CorruptDataError(
                        f"{ibd_path.name} has UUID {ibd_uuid} but the header names "
                        f"{facts['uuid']}: the .ibd belongs to another image", path)
            try:
                meta, mz, inten = _pixel(block, i, scanner.header.groups, ibd, path)
            except ValueError as exc:
                if isinstance(exc, CorruptDataError):
                    raise
                raise CorruptDataError(f"spectrum {i + 1}: malformed value: {exc}",
                                       path) from exc
            centroided = meta.pop("centroided")
            order = np.argsort(mz, kind="stable") if np.any(np.diff(mz) < 0) else slice(None)
            prov = Provenance(source=str(path), driver=NAME, sha256=sha, record=i + 1)
            meta["name"] = (f"pixel x={meta.get('position_x')} y={meta.get('position_y')}")
            meta["instrument"] = scanner.header.instrument
            items.append(Spectrum(mz[order], inten[order], unit="m/z", technique="ms",
                                  centroided=centroided, metadata=meta, provenance=prov))
            if mz.size:
                mz_lo.append(float(mz.min()))
                mz_hi.append(float(mz.max()))
    declared = scanner.header.declared_count if scanner.header else None
    if declared is not None and declared != len(items):
        warnings.warn(f"{path}: spectrumList declares count={declared} but the file holds "
                      f"{len(items)} pixel spectra; using the {len(items)} present",
                      DataQualityWarning, stacklevel=2)
    polarities = sorted({s.metadata["polarity"] for s in items if s.metadata["polarity"]})
    metadata = {
        "n_spectra": len(items),
        "ms_levels": {1: len(items)} if items else {},
        "n_scans": len(items),
        "retention_time_range_s": None,
        "mz_range": [min(mz_lo), max(mz_hi)] if mz_lo else None,
        "instrument": scanner.header.instrument,
        "ionization": scanner.header.ionization,
        "polarity": "/".join(polarities) or None,
        "n_pixels": len(items),
        "ibd": ibd_path.name,
        **facts,
    }
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(items),
                   metadata=metadata, sha256=sha)


register(Driver(NAME, sniff, read, "ms", "imzML mass-spectrometry image (+ .ibd)",
                (".imzml", ".ibd")))
