"""nmrML (the open XML standard for NMR data, nmrML 1.0.rc1), 1-D.

Format notes
------------
Layout
    XML, root ``<nmrML>`` in the namespace ``http://nmrml.org/schema``.
    ``acquisition/acquisition1D`` holds ``acquisitionParameterSet`` (scans,
    temperature, relaxation delay, ``groupDelay``, pulse program as a
    ``userParam``), its ``DirectDimensionParameterSet`` (``numberOfDataPoints``,
    ``acquisitionNucleus`` as a ChEBI term, ``sweepWidth`` Hz,
    ``irradiationFrequency`` = the observe/carrier frequency, MHz,
    ``effectiveExcitationField`` = the base frequency, MHz) and the raw FID
    as ``fidData``. ``spectrumList/spectrum1D`` holds a processed spectrum
    (``spectrumDataArray``, ``xAxis`` with ``startValue``/``endValue`` in
    ppm, and TopSpin phases in ``firstDimensionProcessingParameterSet``).
Binary arrays
    Base64 text, zlib-compressed when ``compressed="true"``; ``byteFormat``
    ``Complex128`` = little-endian pairs of float64 (``Complex64``: float32
    pairs), ``float64``/``float32`` real arrays. The decoded length must match
    ``numberOfDataPoints`` (complex points = half of it, as Bruker ``TD``, or
    equal to it); a mismatch or bad base64/zlib is ``CorruptDataError``.
What is returned
    A :class:`Fid` from ``fidData`` (first) and a :class:`Spectrum`
    (ascending ppm, ``referenced = "vendor"``) from ``spectrum1D`` when
    present. ``points`` is ``numberOfDataPoints`` as the file states it.
Conventions and quirks
    The FID is the vendor's raw data. Bruker data already follow fentid's
    convention; Varian (and JEOL) data are the mirror image and are
    conjugated (the vendor is read from ``sourceFileList``). The converter
    labels ``irradiationFrequencyOffset`` in megahertz although the value is
    in Hz (GABA 1H: 2500.8), so it is not used. The Bruker reference ``SF``
    is not stored; it is recovered from the processed spectrum's ``xAxis``
    centre ``c`` as ``SF = SFO1 / (1 + c 1e-6)`` (``vendor_reference``). For
    Varian-converted files ``effectiveExcitationField`` is VnmrJ's
    ``reffrq`` (the 0-ppm frequency), so the carrier is already referenced.
    TopSpin ``zeroOrderPhaseCorrection``/``firstOrderPhaseCorrection`` become
    ``vendor_phase_deg``.
Sources
    nmrML schema v1.0.rc1 and nmrCV (nmrml.org); nmrML/nmrML examples;
    nmrglue ``fileio/nmrml.py`` (decoding).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from pathlib import Path

import numpy as np

from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, Fid, Provenance, Spectrum, hash_source

NAME = "nmrml"
NS = "{http://nmrml.org/schema}"
DTYPES = {"complex128": "<c16", "complex64": "<c8", "float64": "<f8", "float32": "<f4",
          "integer32": "<i4", "int32": "<i4"}
#: ChEBI names of acquisition nuclei.
NUCLEI = {"hydrogen atom": "1H", "carbon-13 atom": "13C", "fluorine-19 atom": "19F",
          "phosphorus-31 atom": "31P", "nitrogen-15 atom": "15N", "deuterium atom": "2H"}


def sniff(path: Path, head: bytes) -> bool:
    """True for an XML file whose root element is ``<nmrML``."""
    if not path.is_file():
        return False
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return False
    return b"<nmrML" in text[:4096] or b":nmrML " in text[:4096]


def _find(root, *names):
    """First descendant element whose local name is the last of ``names`` under the others."""
    node = root
    for name in names:
        node = next((el for el in node.iter(NS + name, name)), None)
        if node is None:
            return None
    return node


def _value(root, *names, attr: str = "value"):
    node = _find(root, *names)
    if node is None or node.get(attr) in (None, "", "undefined"):
        return None
    try:
        return float(node.get(attr))
    except ValueError:
        return node.get(attr)


def decode_array(node, path: Path) -> np.ndarray:
    """Decode a ``fidData``/``spectrumDataArray`` element (base64, optional zlib)."""
    fmt = (node.get("byteFormat") or "").lower()
    if fmt not in DTYPES:
        raise CorruptDataError(f"unsupported byteFormat {node.get('byteFormat')!r} in "
                               f"<{node.tag.replace(NS, '')}>", path)
    try:
        raw = base64.b64decode((node.text or "").strip(), validate=False)
        if node.get("compressed", "false").lower() == "true":
            raw = zlib.decompress(raw)
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise CorruptDataError(f"<{node.tag.replace(NS, '')}> cannot be decoded "
                               f"(base64/zlib): {exc}", path) from exc
    dtype = np.dtype(DTYPES[fmt])
    if len(raw) == 0 or len(raw) % dtype.itemsize:
        raise CorruptDataError(f"<{node.tag.replace(NS, '')}> decodes to {len(raw)} bytes, "
                               f"not a whole number of {fmt} values", path)
    return np.frombuffer(raw, dtype=dtype)


def _parse(path: Path):
    from lxml import etree

    try:
        parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise CorruptDataError(f"nmrML is not well-formed XML: {exc}", path) from exc
    if etree.QName(root).localname != "nmrML":
        raise CorruptDataError(f"root element is <{etree.QName(root).localname}>, not <nmrML>",
                               path)
    return root


def _source_vendor(root) -> str:
    names = " ".join(el.get("name", "") for el in root.iter(NS + "cvParam", "cvParam")
                     if el.getparent() is not None
                     and el.getparent().tag in (NS + "sourceFile", "sourceFile"))
    for vendor in ("Bruker", "Varian", "Agilent", "JEOL"):
        if vendor.lower() in names.lower():
            return vendor
    return ""


def _solvent_type(root) -> str | None:
    """``sample/solventType`` (a CV term, or its ``cvParam`` child) when the file names one."""
    node = _find(root, "solventType")
    if node is None:
        return None
    term = node.get("name") or next((c.get("name") for c in node
                                     if isinstance(c.tag, str) and c.get("name")), None)
    return term or None


def _user_params(root) -> dict:
    return {el.get("name"): el.get("value") for el in root.iter(NS + "userParam", "userParam")
            if el.get("name")}


def _acquisition(root, path: Path) -> dict:
    direct = _find(root, "acquisition1D", "DirectDimensionParameterSet")
    if direct is None:
        raise CorruptDataError("no acquisition1D/DirectDimensionParameterSet (only 1-D "
                               "nmrML is supported)", path)
    nucleus_node = _find(direct, "acquisitionNucleus")
    nucleus_name = (nucleus_node.get("name") if nucleus_node is not None else "") or ""
    acq = {
        "nucleus": NUCLEI.get(nucleus_name.lower(), nucleus_name or None),
        "points": int(float(direct.get("numberOfDataPoints") or 0)) or None,
        "decoupled": direct.get("decoupled"),
        "sw_hz": _value(direct, "sweepWidth"),
        "obs_mhz": _value(direct, "irradiationFrequency"),
        "base_mhz": _value(direct, "effectiveExcitationField"),
        "pulse_width_us": _value(direct, "pulseWidth"),
        "group_delay": _value(root, "acquisitionParameterSet", "groupDelay") or 0.0,
        "temperature_k": _value(root, "acquisitionParameterSet", "sampleAcquisitionTemperature"),
        "relaxation_delay_s": _value(root, "acquisitionParameterSet", "relaxationDelay"),
    }
    params = _find(root, "acquisition1D", "acquisitionParameterSet")
    if params is not None:
        acq["scans"] = params.get("numberOfScans")
    if not acq["sw_hz"] or not acq["obs_mhz"]:
        raise CorruptDataError("sweepWidth or irradiationFrequency missing", path)
    return acq


def _spectrum_info(root) -> dict | None:
    node = _find(root, "spectrumList", "spectrum1D")
    if node is None:
        return None
    data = _find(node, "spectrumDataArray")
    axis = _find(node, "xAxis")
    if data is None or axis is None:
        return None
    return {"node": node, "data": data, "start": float(axis.get("startValue")),
            "end": float(axis.get("endValue")), "unit": axis.get("unitName"),
            "p0": _value(node, "zeroOrderPhaseCorrection"),
            "p1": _value(node, "firstOrderPhaseCorrection"),
            "points": int(float(node.get("numberOfDataPoints") or 0)) or None}


def read(path: Path) -> Dataset:
    """Read a 1-D nmrML file.

    Returns
    -------
    Dataset
        A :class:`Fid` (when ``fidData`` is present) and a :class:`Spectrum`
        (when ``spectrum1D`` is present), in that order.

    Raises
    ------
    CorruptDataError
        Malformed XML, undecodable arrays, lengths that disagree with
        ``numberOfDataPoints``, missing acquisition parameters.
    """
    path = Path(path)
    root = _parse(path)
    acq = _acquisition(root, path)
    vendor = _source_vendor(root)
    user = _user_params(root)
    spec_info = _spectrum_info(root)
    solvent = next((v for k, v in user.items() if k.lower() in ("solvent", "solvent name")),
                   None) or _solvent_type(root)
    meta = {"spectrometer_frequency_mhz": acq["obs_mhz"], "solvent": solvent,
            "temperature_k": acq["temperature_k"], "pulse_program": user.get("Pulse Program"),
            "instrument": user.get("Instrument Name"), "name": path.stem,
            "vendor": {"acquisition": acq, "user_params": user, "source_vendor": vendor}}
    sha = hash_source(path)
    prov = Provenance(source=str(path), driver=NAME, sha256=sha)
    items = []
    base = acq["base_mhz"] or acq["obs_mhz"]
    carrier_ppm = (acq["obs_mhz"] - base) / base * 1e6
    fid_node = _find(root, "acquisition1D", "fidData")
    if fid_node is not None:
        items.append(_fid(fid_node, path, acq, vendor, spec_info, carrier_ppm, meta, prov))
    if spec_info is not None:
        items.append(_spectrum(spec_info, path, acq, meta, prov))
    if not items:
        raise CorruptDataError("nmrML has neither fidData nor spectrum1D data", path)
    header = {k: v for k, v in acq.items() if v is not None}
    header.update({"source_vendor": vendor, **{f"user_{k}": v for k, v in user.items()}})
    if spec_info is not None:
        header.update({"spectrum_points": spec_info["points"],
                       "spectrum_ppm_start": spec_info["start"],
                       "spectrum_ppm_end": spec_info["end"],
                       "phc0_deg": spec_info["p0"], "phc1_deg": spec_info["p1"]})
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=tuple(items), sha256=sha,
                   metadata={"nucleus": acq["nucleus"],
                             "spectrometer_frequency_mhz": acq["obs_mhz"],
                             "points": acq["points"] or (items[0].points
                                                         if isinstance(items[0], Fid)
                                                         else len(items[0])),
                             "dimensions": 1, "solvent": solvent, "header": header})


def _fid(node, path, acq, vendor, spec_info, carrier_ppm, meta, prov) -> Fid:
    values = decode_array(node, path)
    if values.dtype.kind != "c":
        if values.size % 2:
            raise CorruptDataError("real-valued fidData has an odd number of values", path)
        values = values[0::2] + 1j * values[1::2]
    stated = acq["points"]
    if stated and values.size not in (stated, stated // 2):
        raise CorruptDataError(f"fidData holds {values.size} complex points but "
                               f"numberOfDataPoints is {stated}", path)
    # Varian/JEOL raw data are the mirror image of the Bruker convention fentid uses
    data = np.conj(values) if vendor in ("Varian", "Agilent", "JEOL") else values
    fid_meta = dict(meta)
    if vendor in ("Varian", "Agilent"):
        fid_meta["referenced"] = "vendor"
    if spec_info is not None and spec_info["p0"] is not None:
        fid_meta["vendor_phase_deg"] = {"p0": float(spec_info["p0"]),
                                        "p1": float(spec_info["p1"] or 0.0)}
    if spec_info is not None and vendor not in ("Varian", "Agilent"):
        centre = (spec_info["start"] + spec_info["end"]) / 2
        fid_meta["vendor_reference"] = {"sf_mhz": acq["obs_mhz"] / (1 + centre * 1e-6),
                                        "offset_ppm": spec_info["start"]}
    return Fid(data=data, sw_hz=acq["sw_hz"], obs_mhz=acq["obs_mhz"], carrier_ppm=carrier_ppm,
               nucleus=acq["nucleus"] or "1H", group_delay=float(acq["group_delay"]),
               metadata=fid_meta, provenance=prov)


def _spectrum(info, path, acq, meta, prov) -> Spectrum:
    values = decode_array(info["data"], path)
    if values.dtype.kind == "c":
        values = values.real
    if info["points"] and values.size != info["points"]:
        raise CorruptDataError(f"spectrumDataArray holds {values.size} points but "
                               f"numberOfDataPoints is {info['points']}", path)
    # xAxis runs from the first (left) point to the right edge, as TopSpin's OFFSET and SW
    axis = np.linspace(info["start"], info["end"], values.size, endpoint=False)
    if axis[0] > axis[-1]:
        axis, values = axis[::-1], values[::-1]
    spec_meta = {**meta, "referenced": "vendor", "processed_by": "vendor"}
    return Spectrum(axis=axis, intensities=values.astype(np.float64), unit="ppm",
                    technique="nmr", nucleus=acq["nucleus"], metadata=spec_meta,
                    provenance=prov)


register(Driver(NAME, sniff, read, "nmr", "nmrML 1-D (fidData and/or spectrum1D)",
                (".nmrml",)))
