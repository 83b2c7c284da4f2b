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
    conjugated (the vendor is read from ``sourceFileList``). TopSpin
    ``zeroOrderPhaseCorrection``/``firstOrderPhaseCorrection`` become
    ``vendor_phase_deg``.
Referencing (what the file records, in this order)
    1. A ``spectrum1D`` ``xAxis`` written by the acquisition vendor's own
       software (``processingSoftwareRefList`` naming TopSpin, XWIN-NMR,
       VnmrJ, Delta or MestReNova) and as wide as ``sweepWidth``: the Bruker
       reference ``SF`` is not stored, so it is recovered from the axis
       centre ``c`` as ``SF = SFO1 / (1 + c 1e-6)`` (``vendor_reference``).
       Axes written by other programs are not calibrations: Rnmr (BMRB
       ``cq_00075_1``) wrote ``SW - 2 .. -2`` ppm, 0.210 ppm off TopSpin's
       ``OFFSET``, so they are noted (``metadata["reference_note"]``) and
       not used, and the ``Spectrum`` made from them is left unreferenced.
    2. ``effectiveExcitationField`` different from ``irradiationFrequency``:
       the carrier sits at ``(irradiationFrequency - effectiveExcitationField)
       / effectiveExcitationField`` ppm. For Varian-converted files the field
       is VnmrJ's ``reffrq`` (the 0-ppm frequency), so that carrier is
       already referenced; for Bruker ones it is ``BF1`` (the spectrometer's
       nominal scale) and processing references on the internal standard or
       solvent.
    3. ``irradiationFrequencyOffset`` (Bruker ``O1``, VnmrJ ``tof``; the
       converter labels it megahertz although the value is in Hz, GABA 1H:
       2500.8) when the two frequencies are equal.
    4. Otherwise the file cannot place the carrier (HMDB00005: both
       frequencies are 599.4 MHz, rounded, and no offset is stored; VnmrJ
       put the carrier at 4.763 ppm): a :class:`DataQualityWarning` naming
       the file says so, ``carrier_ppm`` is 0 with ``metadata["carrier_known"]
       = False``, and processing references on an internal standard found
       anywhere in the spectrum (see :mod:`fentid.spectra.nmr_reference`) or
       says the scale is unreferenced.
Data the reader cannot use, reported
    A ``spectrum1D`` without ``xAxis`` (HMDB00005's Bayesil spectrum), a
    second ``spectrum1D`` and a ``spectrumDataArray`` whose values sit on the
    int32 limits (cq_00075_1: the converter wrapped TopSpin's ``1r``) each
    give a :class:`DataQualityWarning` naming the file.
Half-written files
    An XML error in a file that does not end with ``</nmrML>`` raises
    :class:`~fentid.errors.TruncatedDataError` (the watch-folder service retries it);
    in a file that does, :class:`~fentid.errors.CorruptDataError`.
Sources
    nmrML schema v1.0.rc1 and nmrCV (nmrml.org); nmrML/nmrML examples;
    nmrglue ``fileio/nmrml.py`` (decoding).
"""

from __future__ import annotations

import base64
import binascii
import warnings
import zlib
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_checks import check_data
from fentid.drivers._tail import ends_with_closing_tag
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, TruncatedDataError
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
        # libxml2 messages can hold newlines; the CLI prints one line per error
        reason = " ".join(str(exc).split())
        error = (TruncatedDataError if not ends_with_closing_tag(path, "nmrML")
                 else CorruptDataError)
        raise error(f"nmrML is not well-formed XML: {reason}", path) from exc
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
        # labelled megahertz by the converter, but the value is in Hz (O1, tof)
        "offset_hz": _value(direct, "irradiationFrequencyOffset"),
        "pulse_width_us": _value(direct, "pulseWidth"),
        "group_delay": _value(root, "acquisitionParameterSet", "groupDelay") or 0.0,
        "temperature_k": _value(root, "acquisitionParameterSet", "sampleAcquisitionTemperature"),
        "relaxation_delay_s": _value(root, "acquisitionParameterSet", "relaxationDelay"),
    }
    params = _find(root, "acquisition1D", "acquisitionParameterSet")
    if params is not None:
        acq["scans"] = params.get("numberOfScans")
    for key in ("sw_hz", "obs_mhz", "base_mhz", "offset_hz", "group_delay"):
        if acq[key] is not None and not isinstance(acq[key], float):
            raise CorruptDataError(f"{key} is not a number: {acq[key]!r}", path)
    if not acq["sw_hz"] or not acq["obs_mhz"]:
        raise CorruptDataError("sweepWidth or irradiationFrequency missing", path)
    return acq


#: Programs whose ``xAxis`` is the operator's calibration (the acquisition vendors' own).
VENDOR_SOFTWARE = ("topspin", "xwin-nmr", "xwinnmr", "vnmrj", "vnmr", "delta", "mestrenova",
                   "mnova")


def _software(root) -> dict:
    """``software`` elements by id: ``"name version"``."""
    return {el.get("id"): " ".join(filter(None, (el.get("name"), el.get("version"))))
            for el in root.iter(NS + "software", "software") if el.get("id")}


def _spectrum_nodes(root) -> list:
    node = _find(root, "spectrumList")
    if node is None:
        return []
    return [el for el in node.iter(NS + "spectrum1D", "spectrum1D")]


def _spectrum_info(node, software: dict) -> dict:
    """What a ``spectrum1D`` element holds (``axis_ok`` False when it has no usable xAxis)."""
    data = _find(node, "spectrumDataArray")
    axis = _find(node, "xAxis")
    refs = [el.get("ref") or "" for el in node.iter(NS + "softwareRef", "softwareRef")]
    programs = [software.get(ref, ref) for ref in refs]
    info = {"node": node, "data": data, "id": node.get("id") or node.get("name") or "",
            "software": programs,
            "p0": _value(node, "zeroOrderPhaseCorrection"),
            "p1": _value(node, "firstOrderPhaseCorrection"),
            "points": int(float(node.get("numberOfDataPoints") or 0)) or None,
            "start": None, "end": None, "unit": None}
    for key in ("p0", "p1"):
        if info[key] is not None and not isinstance(info[key], float):
            info[key] = None
    if axis is not None:
        try:
            info.update(start=float(axis.get("startValue")), end=float(axis.get("endValue")),
                        unit=axis.get("unitName"))
        except (TypeError, ValueError):
            pass
    info["axis_ok"] = (data is not None and info["start"] is not None
                       and info["end"] is not None and info["start"] != info["end"])
    return info


def _vendor_axis(info: dict, acq: dict) -> tuple[bool, str]:
    """Whether a spectrum1D xAxis is the vendor's calibration, and why not when it is not."""
    width = abs(info["start"] - info["end"])
    expected = acq["sw_hz"] / acq["obs_mhz"]
    if abs(width - expected) > 1e-3 * expected:
        return False, (f"spectrum1D xAxis spans {width:.4f} ppm, not the {expected:.4f} ppm "
                       "of sweepWidth: not used for referencing")
    names = " ".join(info["software"]).lower()
    if any(v in names for v in VENDOR_SOFTWARE):
        return True, ""
    who = ", ".join(info["software"]) or "an unnamed program"
    return False, (f"spectrum1D xAxis was written by {who}, not by the acquisition "
                   "software: not a calibration, not used for referencing")


def _carrier(acq: dict, vendor: str) -> tuple[float, bool, str]:
    """Carrier ppm from the recorded frequencies, whether it is known, and how.

    See "Referencing" in the module notes (steps 2 to 4).  The offset is only
    a chemical shift for Bruker data (``O1`` from ``BF1``, about 0 ppm); a
    VnmrJ ``tof`` counts from a synthesizer base frequency that is no
    chemical shift.
    """
    obs, base, offset = acq["obs_mhz"], acq["base_mhz"], acq["offset_hz"]
    if base and base != obs:
        how = ("effectiveExcitationField (VnmrJ reffrq)" if vendor in ("Varian", "Agilent")
               else "effectiveExcitationField (spectrometer base frequency)")
        return (obs - base) / base * 1e6, True, how
    if offset is not None and vendor == "Bruker":
        origin = obs - offset * 1e-6
        return offset / origin, True, "irradiationFrequencyOffset (Bruker O1)"
    return 0.0, False, "not recorded"


def read(path: Path) -> Dataset:
    """Read a 1-D nmrML file.

    Returns
    -------
    Dataset
        A :class:`Fid` (when ``fidData`` is present) and a :class:`Spectrum`
        (when ``spectrum1D`` with an ``xAxis`` is present), in that order.

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
    software = _software(root)
    spectra = [_spectrum_info(node, software) for node in _spectrum_nodes(root)]
    notes = _unused_spectra(spectra, path)
    spec_info = next((s for s in spectra if s["axis_ok"]), None)
    solvent = next((v for k, v in user.items() if k.lower() in ("solvent", "solvent name")),
                   None) or _solvent_type(root)
    meta = {"spectrometer_frequency_mhz": acq["obs_mhz"], "solvent": solvent,
            "temperature_k": acq["temperature_k"], "pulse_program": user.get("Pulse Program"),
            "instrument": user.get("Instrument Name"), "name": path.stem,
            "vendor": {"acquisition": acq, "user_params": user, "source_vendor": vendor,
                       "software": software}}
    sha = hash_source(path)
    prov = Provenance(source=str(path), driver=NAME, sha256=sha)
    ref = _referencing(acq, vendor, spec_info, path)
    notes.extend(ref["notes"])
    items = []
    fid_node = _find(root, "acquisition1D", "fidData")
    if fid_node is not None:
        items.append(_fid(fid_node, path, acq, vendor, spec_info, ref, meta, prov))
    if spec_info is not None:
        items.append(_spectrum(spec_info, path, acq, ref, meta, prov))
    if not items:
        raise CorruptDataError("nmrML has neither fidData nor a spectrum1D with an xAxis",
                               path)
    header = {k: v for k, v in acq.items() if v is not None}
    header.update({"source_vendor": vendor, "carrier": ref["carrier_how"],
                   **{f"user_{k}": v for k, v in user.items()}})
    if spec_info is not None:
        header.update({"spectrum_points": spec_info["points"],
                       "spectrum_ppm_start": spec_info["start"],
                       "spectrum_ppm_end": spec_info["end"],
                       "spectrum_software": ", ".join(spec_info["software"]),
                       "phc0_deg": spec_info["p0"], "phc1_deg": spec_info["p1"]})
    extra = {"notes": notes} if notes else {}
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=tuple(items), sha256=sha,
                   metadata={"nucleus": acq["nucleus"],
                             "spectrometer_frequency_mhz": acq["obs_mhz"],
                             "points": acq["points"] or (items[0].points
                                                         if isinstance(items[0], Fid)
                                                         else len(items[0])),
                             "dimensions": 1, "solvent": solvent, "header": header, **extra})


def _unused_spectra(spectra: list[dict], path: Path) -> list[str]:
    """Warn about spectrum1D elements that are not read (no xAxis; beyond the first)."""
    notes = []
    usable = [s for s in spectra if s["axis_ok"]]
    for info in spectra:
        name = f"spectrum1D {info['id']!r}" if info["id"] else "spectrum1D"
        if not info["axis_ok"]:
            notes.append(f"{name} has no usable xAxis (or no spectrumDataArray): its "
                         f"{info['points'] or 'unknown number of'} points cannot be placed on "
                         "a ppm axis and are not read")
        elif usable and info is not usable[0]:
            notes.append(f"{name} is not read: only the first spectrum1D with an xAxis is")
    for note in notes:
        warnings.warn(f"{path}: {note}", DataQualityWarning, stacklevel=3)
    return notes


def _referencing(acq: dict, vendor: str, spec_info: dict | None, path: Path) -> dict:
    """How the FID and the spectrum1D are referenced (module notes, "Referencing")."""
    carrier, known, how = _carrier(acq, vendor)
    out = {"carrier_ppm": carrier, "carrier_known": known, "carrier_how": how,
           "axis_trusted": False, "notes": []}
    if spec_info is not None:
        trusted, why = _vendor_axis(spec_info, acq)
        out["axis_trusted"] = trusted
        if why:
            out["notes"].append(why)
    if out["axis_trusted"] and not known:
        # the vendor's axis places the carrier at its centre
        out.update(carrier_ppm=(spec_info["start"] + spec_info["end"]) / 2, carrier_known=True,
                   carrier_how="spectrum1D xAxis centre")
    elif not known:
        message = (f"the file does not record where the carrier is (irradiationFrequency "
                   f"{acq['obs_mhz']} MHz equals effectiveExcitationField, no "
                   "irradiationFrequencyOffset, no vendor-calibrated spectrum1D xAxis): its "
                   "ppm scale is not established; processing references it on an internal "
                   "standard if it finds one, else it stays unreferenced")
        out["notes"].append(message)
        warnings.warn(f"{path}: {message}", DataQualityWarning, stacklevel=3)
    return out


def _fid(node, path, acq, vendor, spec_info, ref, meta, prov) -> Fid:
    values = decode_array(node, path)
    if values.dtype.kind != "c":
        if values.size % 2:
            raise CorruptDataError("real-valued fidData has an odd number of values", path)
        values = values[0::2] + 1j * values[1::2]
    stated = acq["points"]
    if stated and values.size not in (stated, stated // 2):
        raise CorruptDataError(f"fidData holds {values.size} complex points but "
                               f"numberOfDataPoints is {stated}", path)
    check_data(values, path, "fidData")
    if not vendor:
        warnings.warn(f"{path}: sourceFileList names no vendor format, so the FID's sign "
                      "convention is assumed to be Bruker's; a Varian or JEOL FID would "
                      "come out mirrored", DataQualityWarning, stacklevel=3)
    # Varian/JEOL raw data are the mirror image of the Bruker convention fentid uses
    data = np.conj(values) if vendor in ("Varian", "Agilent", "JEOL") else values
    fid_meta = dict(meta)
    fid_meta["carrier_known"] = ref["carrier_known"]
    if ref["notes"]:
        fid_meta["reference_note"] = "; ".join(ref["notes"])
    if ref["carrier_how"].startswith("effectiveExcitationField (VnmrJ"):
        fid_meta["referenced"] = "vendor"
    if spec_info is not None and spec_info["p0"] is not None:
        fid_meta["vendor_phase_deg"] = {"p0": float(spec_info["p0"]),
                                        "p1": float(spec_info["p1"] or 0.0)}
    if ref["axis_trusted"] and vendor not in ("Varian", "Agilent"):
        centre = (spec_info["start"] + spec_info["end"]) / 2
        fid_meta["vendor_reference"] = {"sf_mhz": acq["obs_mhz"] / (1 + centre * 1e-6),
                                        "offset_ppm": spec_info["start"]}
    return Fid(data=data, sw_hz=acq["sw_hz"], obs_mhz=acq["obs_mhz"],
               carrier_ppm=ref["carrier_ppm"], nucleus=acq["nucleus"] or "1H",
               group_delay=float(acq["group_delay"]), metadata=fid_meta, provenance=prov)


#: int32 limits: a processed spectrum whose values sit on them was clipped or wrapped.
INT32_LIMITS = (-2.0 ** 31, 2.0 ** 31 - 1)


def _spectrum(info, path, acq, ref, meta, prov) -> Spectrum:
    values = decode_array(info["data"], path)
    if values.dtype.kind == "c":
        values = values.real
    if info["points"] and values.size != info["points"]:
        raise CorruptDataError(f"spectrumDataArray holds {values.size} points but "
                               f"numberOfDataPoints is {info['points']}", path)
    check_data(values, path, "spectrumDataArray")
    on_limit = int(np.count_nonzero((values <= INT32_LIMITS[0]) | (values >= INT32_LIMITS[1])))
    if on_limit:
        warnings.warn(f"{path}: {on_limit} spectrumDataArray values sit on the int32 limits "
                      f"({values.min():.0f} .. {values.max():.0f}): the converter clipped or "
                      "wrapped the processed spectrum, whose intensities are not "
                      "trustworthy (the FID is)", DataQualityWarning, stacklevel=3)
    # xAxis runs from the first (left) point to the right edge, as TopSpin's OFFSET and SW
    axis = np.linspace(info["start"], info["end"], values.size, endpoint=False)
    if axis[0] > axis[-1]:
        axis, values = axis[::-1], values[::-1]
    spec_meta = {**meta, "processed_by": ", ".join(info["software"]) or "unknown"}
    if ref["axis_trusted"]:
        spec_meta["referenced"] = "vendor"
    elif ref["notes"]:
        spec_meta["reference_note"] = "; ".join(ref["notes"])
    return Spectrum(axis=axis, intensities=values.astype(np.float64), unit="ppm",
                    technique="nmr", nucleus=acq["nucleus"], metadata=spec_meta,
                    provenance=prov)


register(Driver(NAME, sniff, read, "nmr", "nmrML 1-D (fidData and/or spectrum1D)",
                (".nmrml",)))
