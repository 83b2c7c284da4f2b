"""mzData 1.05 (HUPO-PSI, the XML format before mzML) mass spectra.

Format notes
------------
- Layout: XML, root ``<mzData version="1.05">``: a ``<description>`` (admin,
  ``<instrument>`` with ``<instrumentName>``, ``<source>`` cvParams, analyzers,
  ``<dataProcessing>``) and a ``<spectrumList count="N">`` of
  ``<spectrum id="..">`` elements::

      <spectrum id="1">
        <spectrumDesc>
          <spectrumSettings>
            <acqSpecification spectrumType="discrete" .../>
            <spectrumInstrument msLevel="2" mzRangeStart=".." mzRangeStop="..">
              <cvParam accession="PSI:1000039" name="TimeInSeconds" value="474.558"/>
              <cvParam accession="PSI:1000037" name="Polarity" value="Positive"/>
            </spectrumInstrument>
          </spectrumSettings>
          <precursorList count="1"><precursor msLevel="1" spectrumRef="..">
            <ionSelection><cvParam name="MassToChargeRatio" value="810.79"/>
                          <cvParam name="ChargeState" value="2"/></ionSelection>
            <activation><cvParam name="Method" value="CID"/>
                        <cvParam name="CollisionEnergy" value="35"/>
                        <cvParam name="EnergyUnits" value="Percent"/></activation>
          </precursor></precursorList>
        </spectrumDesc>
        <mzArrayBinary><data precision="32" endian="little" length="4">base64</data></mzArrayBinary>
        <intenArrayBinary><data precision="32" endian="little" length="4">...</data></intenArrayBinary>
        <supDataArrayBinary>...</supDataArrayBinary>   (extra per-peak arrays: ignored)
      </spectrum>

- Binary arrays: base64 of IEEE floats, ``precision`` 32 or 64 bits,
  ``endian`` little or big, never compressed; ``length`` counts values and
  must equal what decodes (else CorruptDataError naming the spectrum).
- cvParams are matched by name (case-insensitive) or accession number
  (``PSI:10000nn``, also written ``MS:10000nn``): 1000038 TimeInMinutes,
  1000039 TimeInSeconds, 1000037 Polarity, 1000040 MassToChargeRatio,
  1000041 ChargeState, 1000044 Method, 1000045 CollisionEnergy (eV unless
  EnergyUnits says Percent, then kept as text only).
- Centroid or profile: ``acqSpecification spectrumType`` ("discrete" =
  centroid, "continuous" = profile), else the file-level dataProcessing
  cvParam ``CentroidMassSpectrum`` (PSI:1000127), else unknown.
- Reading: lxml ``iterparse`` streaming one spectrum at a time (gzip through
  :func:`fentid.drivers._gzip.open_binary`), assembled like the mzML driver's
  result (a Run of the MS1 scans with a retention time plus one Spectrum per
  other spectrum). pyteomics has no mzData reader (checked: 4.7.5 and 5.0.1
  ship none), so this is our own.
- Sources: mzData 1.05 schema (psidev.sourceforge.net/ms/xml/mzdata/mzdata.xsd);
  OpenMS MzDataHandler; OpenMS test data (FileInfo_6_input.mzData).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fentid.drivers._gzip import open_binary
from fentid.drivers._mzml_fast import MzmlHeader, ScanRecord, decode_base64
from fentid.drivers.mzml import PROFILE_BUDGET_MB, build_dataset
from fentid.drivers.mzxml import xml_error_text
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset

NAME = "mzdata"
#: Root element after the XML declaration and comments.
_ROOT = re.compile(rb"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<mzData\b", re.DOTALL)
#: cvParam accession number (after PSI:/MS:) -> meaning.
_ACCESSIONS = {"1000038": "timeinminutes", "1000039": "timeinseconds",
               "1000037": "polarity", "1000040": "masstochargeratio",
               "1000041": "chargestate", "1000044": "method", "1000045": "collisionenergy",
               "1000046": "energyunits"}


def sniff(path: Path, head: bytes) -> bool:
    """``<mzData`` is the root element."""
    return b"<mzData" in head and _ROOT.match(head) is not None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _param_key(el) -> str:
    """What a cvParam means: its accession number's meaning, else its name, normalised."""
    acc = (el.get("accession") or "").rsplit(":", 1)[-1]
    if acc in _ACCESSIONS:
        return _ACCESSIONS[acc]
    return (el.get("name") or "").replace(" ", "").replace("_", "").lower()


def decode_data(el, label: str, path) -> np.ndarray:
    """Decode an mzData ``<data precision endian length>`` element into native floats."""
    precision = el.get("precision", "32")
    if precision not in ("32", "64"):
        raise CorruptDataError(f"{label}: precision {precision!r} is not 32 or 64", path)
    endian = (el.get("endian") or "little").lower()
    if endian not in ("little", "big"):
        raise CorruptDataError(f"{label}: endian {endian!r} is not little or big", path)
    dtype = np.dtype(("<" if endian == "little" else ">") + f"f{int(precision) // 8}")
    raw = decode_base64((el.text or "").encode("ascii", "replace"), label, path)
    if len(raw) % dtype.itemsize:
        raise CorruptDataError(f"{label}: {len(raw)} bytes are not whole {precision}-bit values",
                               path)
    values = np.frombuffer(raw, dtype=dtype)
    length = el.get("length")
    if length is not None and length.strip().isdigit() and int(length) != values.size:
        raise CorruptDataError(
            f"{label}: {values.size} values decoded but length is {length}", path)
    return values.astype(dtype.newbyteorder("="))


class _Reader:
    """Streams ScanRecords from an mzData file and collects its header facts."""

    def __init__(self, path: Path):
        self.path = path
        self.header = MzmlHeader(None, None, None, {})
        self.centroided: bool | None = None  # file-level CentroidMassSpectrum
        self.version: str | None = None

    def __iter__(self) -> Iterator[ScanRecord]:
        from lxml import etree

        with open_binary(self.path) as fh:
            try:
                yield from self._parse(etree.iterparse(
                    fh, events=("start", "end"), huge_tree=True, resolve_entities=False))
            except etree.XMLSyntaxError as exc:
                raise CorruptDataError(f"not well-formed mzData (truncated or damaged?): "
                                       f"{xml_error_text(exc)}", self.path) from exc

    def _parse(self, events) -> Iterator[ScanRecord]:
        index = 0
        seen_list = False
        for event, el in events:
            name = _local(el.tag)
            if event == "start":
                if name == "mzData":
                    self.version = el.get("version")
                elif name == "spectrumList":
                    seen_list = True
                    count = el.get("count")
                    if count and count.strip().isdigit():
                        self.header.declared_count = int(count)
                continue
            if name == "spectrum":
                yield self._record(el, index)
                index += 1
                el.clear(keep_tail=True)
            elif name == "instrumentName" and (el.text or "").strip():
                self.header.instrument = el.text.strip()
            elif name == "source":
                self.header.ionization = self._ionization(el)
            elif name == "processingMethod" and any(
                    _param_key(cv) == "centroidmassspectrum" for cv in el.iter("{*}cvParam")):
                self.centroided = True
        if not seen_list:
            raise CorruptDataError("no <spectrumList>: not an mzData file with spectra",
                                   self.path)

    @staticmethod
    def _ionization(source) -> str | None:
        for cv in source.iter("{*}cvParam"):
            text = f"{cv.get('name') or ''} {cv.get('value') or ''}".strip()
            if text and ("ioniz" in text.lower() or "spray" in text.lower()):
                return text
        return None

    def _record(self, el, index: int) -> ScanRecord:
        sid = el.get("id") or str(index + 1)
        label = f"spectrum {sid}"
        rec = ScanRecord(index=index, id=f"spectrum={sid}", mz=np.empty(0),
                         intensity=np.empty(0))
        params: dict = {}
        try:
            self._describe(el, rec, params)
        except ValueError as exc:
            raise CorruptDataError(f"{label}: malformed value: {exc}", self.path) from exc
        rec.params = params
        for child in el:
            cname = _local(child.tag)
            if cname in ("mzArrayBinary", "intenArrayBinary"):
                data = next(child.iter("{*}data"), None)
                if data is None:
                    raise CorruptDataError(f"{label}: <{cname}> without <data>", self.path)
                values = decode_data(data, f"{label}: {cname}", self.path)
                if cname == "mzArrayBinary":
                    rec.mz = values
                else:
                    rec.intensity = values
        if rec.mz.size != rec.intensity.size:
            raise CorruptDataError(f"{label}: {rec.mz.size} m/z values but "
                                   f"{rec.intensity.size} intensities", self.path)
        return rec

    def _describe(self, el, rec: ScanRecord, params: dict) -> None:
        """Fill ``rec`` from ``<spectrumDesc>``; other cvParams go to ``params``."""
        rec.centroided = self.centroided
        for acq in el.iter("{*}acqSpecification"):
            kind = (acq.get("spectrumType") or "").lower()
            if kind in ("discrete", "continuous"):
                rec.centroided = kind == "discrete"
        for inst in el.iter("{*}spectrumInstrument"):
            if inst.get("msLevel"):
                rec.ms_level = int(inst.get("msLevel"))
            for cv in inst.iter("{*}cvParam"):
                key, value = _param_key(cv), cv.get("value") or ""
                if key == "timeinseconds":
                    rec.retention_time_s = float(value)
                elif key == "timeinminutes":
                    rec.retention_time_s = float(value) * 60.0
                elif key == "polarity" and value.lower()[:3] in ("pos", "neg"):
                    rec.polarity = "positive" if value.lower().startswith("pos") else "negative"
                else:
                    params.setdefault(cv.get("name") or key, value)
        for precursor in el.iter("{*}precursor"):
            self._precursor(precursor, rec, params)
            break  # the first precursor (mzData allows several; MS2 has one)

    @staticmethod
    def _precursor(precursor, rec: ScanRecord, params: dict) -> None:
        energy = units = None
        methods = []
        for cv in precursor.iter("{*}cvParam"):
            key, value = _param_key(cv), cv.get("value") or ""
            if key == "masstochargeratio" and rec.precursor_mz is None:
                rec.precursor_mz = float(value)
            elif key == "chargestate" and rec.precursor_charge is None:
                rec.precursor_charge = int(float(value))
            elif key == "method":
                methods.append(value)
            elif key == "collisionenergy":
                energy = value
            elif key == "energyunits":
                units = value
        rec.activation = ", ".join(m for m in methods if m) or None
        if energy is not None:
            params["collision energy"] = f"{energy} {units}".strip() if units else energy
            if not units or units.lower() in ("ev", "electron volt", "electronvolt"):
                rec.collision_energy_ev = float(energy)


def read(path: Path, *, profile_budget_mb: float = PROFILE_BUDGET_MB,
         nominal_boundary: float | None = None) -> Dataset:
    """Read an mzData file: a Run of the MS1 scans plus one Spectrum per other spectrum.

    ``metadata`` has the keys of the mzML driver's (``declared_count`` is the
    ``spectrumList count``) plus ``mzdata_version``. ``profile_budget_mb`` and
    ``nominal_boundary`` as for :func:`fentid.drivers.mzml.read`.

    Raises
    ------
    CorruptDataError
        Malformed or truncated XML, invalid base64, value counts that disagree
        with ``length``, no spectrumList.
    """
    reader = _Reader(Path(path))
    ds = build_dataset(path, NAME, reader, lambda: reader.header, "spectrumList",
                       profile_budget_mb=profile_budget_mb, nominal_boundary=nominal_boundary)
    return _with_version(ds, reader.version)


def _with_version(ds: Dataset, version: str | None) -> Dataset:
    import dataclasses

    return dataclasses.replace(ds, metadata={**ds.metadata, "mzdata_version": version})


register(Driver(NAME, sniff, read, "ms", "mzData mass spectra (HUPO-PSI, before mzML)",
                (".mzdata",), reads_gzip=True))
