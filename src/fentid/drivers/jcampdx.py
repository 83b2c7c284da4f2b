"""JCAMP-DX NMR and mass spectra (IUPAC text exchange format), every encoding.

One driver, ``jcampdx``, reads NMR spectra and FIDs and mass spectra; the
``##DATA TYPE=`` record decides the technique.  The syntax (records, blocks,
ASDF decoding) is in :mod:`fentid.drivers._jcamp_parse`.

Format notes
------------
Layout
    Text, one labelled data record (LDR) per ``##LABEL= value``; a value runs
    to the next ``##``.  Labels compare upper-case without blanks, ``-``,
    ``/`` and ``_`` (``##DATA TYPE`` = ``##DATATYPE``, ``##VAR_DIM`` =
    ``##VARDIM``).  ``$$`` starts a comment.  ``##.NAME`` records are
    technique-specific (``.OBSERVE FREQUENCY`` in MHz, ``.OBSERVE NUCLEUS``
    ``^13C``, ``.SHIFT REFERENCE= INTERNAL, solvent, point, ppm``,
    ``.SOLVENT NAME``), ``##$NAME`` records are vendor parameters (Bruker
    ``$SW``, ``$TD``, ``$O1``, ``$OFFSET``, ``$GRPDLY``, ``$DECIM``,
    ``$DSPFVS``...).  A file is one block ``##TITLE= .. ##END=`` (a file that ends
    before its ``##END=`` raises :class:`~fentid.errors.TruncatedDataError`: still being
    written, or cut short), or a
    ``##DATA TYPE= LINK`` block holding child blocks (MestReNova writes this
    for a single spectrum).  Children that hold no data table (TopSpin 3.5
    writes a ``##DATA TYPE=PEAK ASSIGNMENTS`` block after its FID and
    spectrum; others add structures) are skipped and noted in
    ``metadata["notes"]``/``["skipped_blocks"]`` (assignments kept); a LINK
    whose ``##BLOCKS=`` differs from its children is noted (TopSpin's DEPT
    export says 2 and holds 3), and warned about when children are missing.
Technique
    ``##DATA TYPE=`` decides; a block without one is NMR when it carries
    NMR-only records (``.OBSERVE FREQUENCY``, ``.OBSERVE NUCLEUS``,
    ``$SFO1``, ``$BF1``, ``$NUC1``...) and Hz/ppm/seconds abscissae (the
    sniffer also accepts ``.OBSERVE`` records in the head, since Bruker
    exports put the table after line 1200), MS when its abscissa is m/z.
Data tables
    * ``##XYDATA=(X++(Y..Y))``: each line is an abscissa (divided by XFACTOR)
      and ordinates (divided by YFACTOR) in AFFN (free numbers), PAC (signs as
      separators), SQZ (first digit and sign as a letter ``@A-Ia-i``), DIF
      (differences ``%J-Rj-r``) or DUP (repeat counts ``S-Zs``).  A line that
      ends in DIF form is followed by a line whose first ordinate repeats the
      last value: that Y-check is verified and dropped.  The abscissa of every
      line is checked against the number of points before it, so a lost line
      is an error, not a silently shifted spectrum.
    * ``##PEAK TABLE=(XY..XY)`` / ``(XYW..XYW)`` and ``##XYPOINTS=(XY..XY)``:
      pairs (or triples) separated by blanks, commas or semicolons.
    * ``##NTUPLES=`` with ``VAR_NAME/SYMBOL/VAR_DIM/FIRST/LAST/FACTOR`` per
      column and ``##PAGE=`` sections holding ``##DATA TABLE=``: NMR SPECTRUM
      (real and imaginary pages), NMR FID (``FID/REAL``, ``FID/IMAG``), and
      MASS SPECTRUM series (one page per retention time).
Units
    XUNITS ``HZ`` (converted to ppm with ``.OBSERVE FREQUENCY``), ``PPM``,
    ``M/Z`` (also ``DALTONS``), ``SECONDS`` (FIDs; raw magnetic-sector MS
    scans); ``1/CM`` and other optical data are not NMR or MS and are refused.
Chemical-shift referencing (NMR spectra stored in Hz)
    Bruker exports give ``$OFFSET``, the ppm of the first point: it wins (it is
    what TopSpin displays; jcampconverter does the same).  Otherwise
    ``.SHIFT REFERENCE`` (1-based point, ppm) is applied; otherwise Hz /
    observe frequency as written (MestReNova and JEOL write absolute Hz).
FIDs
    ``sw_hz`` is 1 / dwell from the TIME column (FIRST, LAST, VAR_DIM);
    ``carrier_ppm`` from Nanalysis ``$O1P``, else Bruker ``$O1/$BF1``, else
    ``$OFFSET - SW/2``, else ``.SHIFT REFERENCE`` (Q Magnetics); acquisition
    parameters win because FID exports can carry processing parameters of
    another experiment (cytisine 13C: ``$OFFSET= 8.27`` ppm with a 239 ppm
    sweep, which would put the carrier at -111 ppm; ``$O1/$BF1`` gives 100); ``group_delay`` is
    ``$GRPDLY`` when positive, else nmrglue's Bruker table for
    ``$DSPFVS``/``$DECIM`` (aspirin 1h.fid.dx: DSPFVS 10, DECIM 24 -> 61.02
    points); vendor phases ``$PHC0/$PHC1`` go to ``vendor_phase_deg``.
Vendor quirks handled
    * JEOL 1h.dx: ``DELTAX`` has the wrong sign (FIRSTX > LASTX but DELTAX
      > 0): the axis comes from FIRSTX, LASTX and the point count.
    * Varian GEMINI: ``NPOINTS= 16385.000000000`` (non-integer); line
      abscissae run upwards while DELTAX is negative (only |step| is checked).
    * Q Magnetics: ``##END TUPLES=`` (sic) closes the NTUPLES section; line
      abscissae are seconds with decimals.  The header cannot give a correct
      ppm axis: ``.SHIFT REFERENCE= INTERNAL, ,20000.5 ,0`` only says the
      centre of the 40000-point spectrum is 0 ppm (no compound named, and the
      point is the centre whichever way or from which base it is counted;
      1-based versus 0-based or before/after fftshift moves it by at most one
      point, 0.002 ppm), and nothing records the transmitter offset
      (``$QM_TRACK_TX= False``: presumably it does not follow the magnet's
      drift).  In ibuprofen_j_ave
      (``$QM_RUN_NOTES= 250 mM in CdCl3 w TMS``, not neat) every line, TMS
      included, sits 13.38 ppm (1658 Hz) below where that puts it, in the
      literature order and spacing (so not a sign error: a conjugated FID
      would mirror the pattern), and TMS lies outside the internal-standard
      search window of :mod:`fentid.spectra.nmr_reference`.  The carrier is
      therefore taken from ``.SHIFT REFERENCE`` as written and processing
      warns that no chemical-shift reference was found; shifts relative to
      the TMS line are right (tests/drivers/test_jcampdx.py).
    * Nanalysis: CRLF, AFFN integer columns with per-column FACTOR.
    * ISAS test files: every line starts with a blank; the BRUKDIF file is a
      different acquisition from BRUKPAC/SQZ/AFFN (FIRSTY 2254931 vs 2259260)
      and equals BRUKNTUP's real page.
    * ethylbenzene_hrms.jdx ends with ``##END`` without ``=``; its PEAK TABLE
      is really a profile (zeros between peaks) and is read as written.
    * gcms.jdx (jcampconverter test file) is "JCAMP-like": no ``##END=``,
      no DATA TYPE, and one ``##SCAN_NUMBER/##RETENTION_TIME/##TIC/
      ##NPOINTS/##XYDATA=(XY..XY)`` group per scan with m/z descending.  It is
      read into one :class:`~fentid.spectra.model.Run`; a missing ``##END=`` is
      only accepted for this scan-series form.
The ``jcamp`` package (PyPI 1.3.2)
    Not used: checked with a throwaway install, it raises on BRUKDIF.DX,
    jcamp-difdup.dx and ISAS_MS2.DX (``$$ checkpoint`` comments in the data),
    ethylbenzene_hrms.jdx (bare ``##END``) and varian/1h.jdx (non-integer
    NPOINTS), and returns one 100-point scan for gcms.jdx and nothing for the
    ISAS_MS3 series (details in :data:`JCAMP_PACKAGE_FAILURES`); so this reader
    is our own and jcamp is not a dependency.
Sources
    McDonald & Wilks, Appl. Spectrosc. 42 (1988) 151 (JCAMP-DX core, ASDF);
    Davies & Lampen, Appl. Spectrosc. 47 (1993) 1093 (NMR, NTUPLES);
    Lampen et al., Appl. Spectrosc. 48 (1994) 1545 (MS); JCAMP-DX 6.0
    (Baumbach et al. 2004) and the IUPAC JCAMP-DX 5.01/6.00 drafts;
    cheminfo/jcampconverter (behaviour on Bruker ``$OFFSET``); nmrglue's
    Bruker digital-filter table.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._jcamp_ms import is_scan_series, read_ms, read_scan_series
from fentid.drivers._jcamp_parse import Block, parse_float, parse_ldrs, split_blocks
from fentid.drivers._jcamp_tables import (
    MS_UNITS,
    Ntuples,
    block_table,
    header_records,
    ntuple_page_xyy,
    vendor_float,
    vendor_records,
)
from fentid.drivers._nmr_checks import check_data
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, UnknownFormatError
from fentid.spectra.model import Dataset, Fid, Provenance, Spectrum, hash_source

NAME = "jcampdx"

#: Samples the PyPI ``jcamp`` package could not read correctly.
#: Checked with jcamp 1.3.2 (``jcamp.readfile``) in a throwaway install, 2026-11.
JCAMP_PACKAGE_FAILURES: dict[str, str] = {
    "jcamp_dx_nmr/jcamp-dx.org_official/BRUKDIF.DX":
        "Exception: Unknown character ($) -- the '$$ checkpoint' comment on the last line",
    "jcamp_dx_nmr/jcampconverter_compression/jcamp-difdup.dx":
        "Exception: Unknown character ($) -- same checkpoint comment",
    "jcamp_dx_ms/jcamp-dx.org_official/ISAS_MS2.DX": "Exception: Unknown character ($)",
    "jcamp_dx_ms/cheminfo/ethylbenzene_hrms.jdx":
        "ValueError: not enough values to unpack (bare '##END' without '=')",
    "jcamp_dx_nmr/cheminfo/varian/1h.jdx":
        "TypeError: 'float' object cannot be interpreted as an integer (NPOINTS=16385.000)",
    "jcamp_dx_ms/jcampconverter/gcms.jdx": "returns 100 points of one scan instead of 2420 scans",
    "jcamp_dx_ms/jcamp-dx.org_official/ISAS_MS3.DX": "returns no data for the NTUPLES series",
}


# ---------------------------------------------------------------------------
# sniffing

# anchored at line starts: Bruker exports quote their acqus files in ``$$`` comments
_SNIFF_LABELS = re.compile(
    rb"^[ \t]*##\s*(DATA[\s_\-]*TYPE|XYDATA|PEAK[\s_\-]*TABLE|XYPOINTS|NTUPLES)\s*=",
    re.IGNORECASE | re.MULTILINE)
_PARAMETER_FILE = re.compile(rb"^[ \t]*##\s*DATA[\s_\-]*TYPE\s*=\s*PARAMETER",
                             re.IGNORECASE | re.MULTILINE)
# NMR-only records of the JCAMP-DX NMR standard: a block without ##DATA TYPE= whose
# data table lies beyond the head (Bruker exports: line 1200 and later) still has them
_NMR_SNIFF_LABELS = re.compile(rb"^[ \t]*##\s*\.\s*OBSERVE[\s_\-]*(FREQUENCY|NUCLEUS)\s*=",
                               re.IGNORECASE | re.MULTILINE)


def sniff(path: Path, head: bytes) -> bool:
    """True for a JCAMP-DX data file: ``##TITLE=``/``##JCAMP`` first, data records in the head.

    Bruker ``acqus``/``procs`` and audit files are JCAMP-DX too, but carry
    parameters only (``##DATATYPE= Parameter Values`` or no data record);
    they belong to the Bruker folder and are not claimed.
    """
    if not head:
        return False
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    text = text.lstrip()
    if not (text[:8].upper() == b"##TITLE=" or text[:7].upper() == b"##JCAMP"):
        return False
    if _PARAMETER_FILE.search(head):
        return False
    return bool(_SNIFF_LABELS.search(head) or _NMR_SNIFF_LABELS.search(head))


# ---------------------------------------------------------------------------
# reading

def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # old DOS exports; every byte maps


def read(path: Path) -> Dataset:
    """Read a JCAMP-DX file (NMR spectrum/FID or MS peak table/series).

    Returns
    -------
    Dataset
        ``technique`` from ``##DATA TYPE=``; NMR spectra as :class:`Spectrum`
        (ppm ascending), FIDs as :class:`Fid`, MS peak tables as centroided
        :class:`Spectrum` (m/z), scan series as one :class:`Run`.

    Raises
    ------
    CorruptDataError
        Damaged data (bad characters, Y-check mismatch, point counts that
        disagree, missing ``##END=``), naming the file line.
    UnknownFormatError
        JCAMP-DX data that is neither NMR nor MS (IR, UV, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise CorruptDataError("JCAMP-DX input must be a file, not a folder", path)
    text = _read_text(path)
    if not text.strip():
        raise CorruptDataError("file is empty", path)
    ldrs = parse_ldrs(text)
    series = is_scan_series(ldrs)
    blocks = split_blocks(ldrs, path, allow_unterminated=series)
    sha = hash_source(path)
    if series:
        return read_scan_series(blocks[0], path, sha)
    data_blocks, notes = _spectrum_blocks(blocks, path)
    items, techniques, encodings = [], [], []
    for k, block in enumerate(data_blocks, start=1):
        record = k if len(data_blocks) > 1 else None
        prov = Provenance(source=str(path), driver=NAME, sha256=sha, record=record)
        technique = _technique(block, path)
        techniques.append(technique)
        item, encoding = (_read_nmr if technique == "nmr" else read_ms)(block, path, prov)
        items.append(item)
        encodings.append(encoding)
    if len(set(techniques)) > 1:
        raise CorruptDataError("file mixes NMR and MS blocks; split it into one file each", path)
    first = data_blocks[0]
    meta = {"header": header_records(first), "data_type": (first.get("DATATYPE") or "").upper(),
            "encoding": encodings[0], "blocks": len(data_blocks)}
    if notes:
        meta["notes"] = [n["note"] for n in notes]
        meta["skipped_blocks"] = [{k: v for k, v in n.items() if k != "note"} for n in notes
                                  if "line" in n]
    if techniques[0] == "nmr":
        meta.update(_nmr_summary(items[0]))
    return Dataset(path=str(path), driver=NAME, technique=techniques[0], items=tuple(items),
                   metadata=meta, sha256=sha)


#: Records only NMR blocks carry (normalised labels): the JCAMP-DX NMR
#: standard's ``.OBSERVE FREQUENCY``/``.OBSERVE NUCLEUS`` and the vendor
#: observe-channel parameters of Bruker, Nanalysis and JEOL exports.
NMR_LABELS = (".OBSERVEFREQUENCY", ".OBSERVENUCLEUS", "$SFO1", "$BF1", "$NUC1", "$O1P",
              "$SW_H", "$TD", "$PULPROG")
#: ``XUNITS`` of NMR abscissae (frequency, chemical shift, FID time).
NMR_XUNITS = ("HZ", "PPM", "SECONDS")


#: Records that hold a spectrum, FID or peak table.
DATA_LABELS = ("XYDATA", "PEAKTABLE", "XYPOINTS", "NTUPLES", "DATATABLE")


def _spectrum_blocks(blocks: list[Block], path) -> tuple[list[Block], list[dict]]:
    """The blocks holding spectra, and a note for each block of a LINK file that holds none.

    A compound (``LINK``) file may carry blocks that are not spectra: TopSpin
    writes a ``PEAK ASSIGNMENTS`` block, others a structure (``MOLFILE``) or
    information block.  Those are skipped and noted (their assignments kept
    in the note), never a reason to refuse the spectra.  A file whose only
    blocks hold no data is refused by :func:`_technique` as before.  A LINK
    block declaring ``##BLOCKS=`` other than the children it holds is noted,
    and warned about when children are missing.
    """
    spectra, notes = [], []
    for top in blocks:
        leaves = top.data_blocks()
        if not top.children:
            spectra.append(top)
            continue
        declared = parse_float(top.get("BLOCKS"))
        if declared is not None and int(declared) != len(top.children):
            note = (f"LINK block at line {top.start_line} declares BLOCKS={int(declared)} "
                    f"but holds {len(top.children)} blocks")
            notes.append({"note": note})
            if len(top.children) < declared:
                warnings.warn(f"{path}: {note}: blocks may be missing (truncated file?)",
                              DataQualityWarning, stacklevel=4)
        for leaf in leaves:
            if any(leaf.find(label) is not None for label in DATA_LABELS):
                spectra.append(leaf)
                continue
            kind = (leaf.get("DATATYPE") or "").strip() or "(no DATA TYPE)"
            note = {"note": f"block at line {leaf.start_line} ({kind}: {leaf.title!r}) holds no "
                            "spectrum and is skipped",
                    "line": leaf.start_line, "data_type": kind, "title": leaf.title}
            assignments = _peak_assignments(leaf)
            if assignments:
                note["peak_assignments"] = assignments
            notes.append(note)
    if not spectra:
        # nothing but notes: let the first block explain why it is not readable
        first = next(iter(b for top in blocks for b in top.data_blocks()), blocks[0])
        _technique(first, path)
        raise UnknownFormatError(f"JCAMP-DX file holds no spectrum block "
                                 f"({'; '.join(n['note'] for n in notes)})", path)
    return spectra, notes


_ASSIGNMENT = re.compile(r"\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*,\s*<([^>]*)>\s*\)")


def _peak_assignments(block: Block) -> list[dict]:
    """``##PEAK ASSIGNMENTS=(XYA)`` rows as ``{"x", "y", "assignment"}`` (empty when absent)."""
    ldr = block.find("PEAKASSIGNMENTS")
    if ldr is None:
        return []
    rows = []
    for x, y, label in _ASSIGNMENT.findall(ldr.value):
        rows.append({"x": parse_float(x), "y": parse_float(y), "assignment": label.strip()})
    return rows


def _technique(block: Block, path) -> str:
    """``nmr`` or ``ms`` from ``##DATA TYPE=``, or, without one, from the block's other records.

    A block without ``DATA TYPE`` is NMR when it carries NMR-only records
    (:data:`NMR_LABELS`) and its abscissa is in Hz, ppm or seconds (or the data
    table is an NTUPLES with those units); MS when its abscissa is m/z.
    """
    dtype = (block.get("DATATYPE") or "").upper()
    if "NMR" in dtype:
        return "nmr"
    if "MASS" in dtype:
        return "ms"
    units = (block.get("XUNITS") or "").upper().replace(" ", "")
    if not dtype and units in MS_UNITS:
        return "ms"
    if not dtype and _looks_nmr(block, units):
        return "nmr"
    raise UnknownFormatError(
        f"JCAMP-DX DATA TYPE={dtype or '(none)'} (block at line {block.start_line}) is not NMR "
        "or mass spectrometry; fentid reads NMR SPECTRUM, NMR FID and MASS SPECTRUM", path)


def _looks_nmr(block: Block, xunits: str) -> bool:
    labels = set()
    b = block
    while b is not None:
        labels.update(ldr.label for ldr in b.ldrs)
        b = b.parent
    if not labels.intersection(NMR_LABELS):
        return False
    if block.find("NTUPLES") is not None:
        units = (block.get("UNITS") or "").upper().replace(" ", "").split(",")
        xunits = units[0] if units else ""
    return any(xunits.startswith(u) for u in NMR_XUNITS)


# ---------------------------------------------------------------------------
# NMR

def _nucleus(block: Block, vendor: dict) -> str | None:
    for text in (block.get(".OBSERVENUCLEUS"), vendor.get("NUC1"),
                 block.get("INSTRUMENTALPARAMETERS")):
        if not text:
            continue
        m = re.search(r"\^?\s*(\d+)\s*([A-Za-z]{1,2})\b", text) or None
        if m:
            return f"{m.group(1)}{m.group(2).capitalize()}"
        m = re.search(r"\b([A-Za-z]{1,2})(\d+)\b", text)
        if m:
            return f"{m.group(2)}{m.group(1).capitalize()}"
    return None


def _solvent(block: Block, vendor: dict) -> str | None:
    for text in (block.get(".SOLVENTNAME"), block.get("SOLVENT"), vendor.get("SOLVENT")):
        if text and text.strip("<> "):
            return text.strip("<> ")
    desc = block.get("SAMPLEDESCRIPTION") or ""
    m = re.search(r"solvent\s*=\s*([^\s,;]+)", desc, re.IGNORECASE)
    return m.group(1) if m else None


def _observe_mhz(block: Block, vendor: dict) -> float | None:
    freq = parse_float(block.get(".OBSERVEFREQUENCY"))
    if freq is None:
        freq = vendor_float(vendor, "SFO1") or vendor_float(vendor, "BF1")
    return freq


def _shift_reference(block: Block) -> tuple[float, float] | None:
    """(1-based point, ppm) of ``.SHIFT REFERENCE``, when complete."""
    text = block.get(".SHIFTREFERENCE")
    if not text:
        return None
    parts = [p.strip(" ()") for p in text.split(",")]
    if len(parts) < 4:
        return None
    point, ppm = parse_float(parts[2]), parse_float(parts[3])
    if point is None or ppm is None:
        return None
    return point, ppm


def _nmr_metadata(block: Block, vendor: dict, obs: float | None) -> dict:
    meta = {"name": block.title or None, "spectrometer_frequency_mhz": obs,
            "solvent": _solvent(block, vendor), "vendor": vendor}
    te = vendor_float(vendor, "TE")
    temp_c = parse_float(block.get("TEMPERATURE"))
    if te is not None:
        meta["temperature_k"] = te
    elif temp_c is not None:
        meta["temperature_k"] = temp_c + 273.15  # JCAMP TEMPERATURE is in deg C
    return meta


def _read_nmr(block: Block, path, prov: Provenance):
    vendor = vendor_records(block)
    obs = _observe_mhz(block, vendor)
    nucleus = _nucleus(block, vendor)
    dtype = (block.get("DATATYPE") or "").upper()
    meta = _nmr_metadata(block, vendor, obs)
    if block.find("NTUPLES") is not None:
        if dtype.startswith("ND") or "2D" in dtype:
            raise UnknownFormatError(
                f"multi-dimensional JCAMP-DX NMR ({dtype}) is not supported; read the "
                "vendor's raw data instead (e.g. the Bruker experiment folder)", path)
        nt = Ntuples(block, path)
        pages = [ntuple_page_xyy(nt, page, path) for _, page in nt.pages]
        by_symbol = {sym: (x, y) for sym, x, y, _ in pages}
        if len(pages) > len(by_symbol):
            # e.g. an arrayed series: one real/imaginary pair is one spectrum
            warnings.warn(f"{path}: NTUPLES of the block at line {block.start_line} holds "
                          f"{len(pages)} pages for {len(by_symbol)} columns; only the last "
                          "page of each column is read (several spectra in one NTUPLES are "
                          "not supported)", DataQualityWarning, stacklevel=3)
        encoding = pages[0][3]
        real_sym = next((s for s in nt.symbols if "REAL" in nt.name(s) or s == "R"), None)
        imag_sym = next((s for s in nt.symbols if "IMAG" in nt.name(s) or s == "I"), None)
        if real_sym not in by_symbol:
            raise CorruptDataError("NTUPLES has no real page (SYMBOL R)", path)
        x, real = by_symbol[real_sym]
        imag = by_symbol.get(imag_sym, (None, None))[1]
        if imag is not None and imag.size != real.size:
            raise CorruptDataError(f"real page has {real.size} points, imaginary page "
                                   f"{imag.size}", path)
        xunits = (nt.attr[nt.symbols[0]]["UNITS"] or "").upper()
        if "FID" in dtype or "SECOND" in xunits:
            return _make_fid(block, path, prov, x, real, imag, obs, nucleus, meta,
                             vendor), encoding
        return _make_nmr_spectrum(block, path, prov, x, real, imag, xunits, obs, nucleus,
                                  meta, vendor), encoding
    if "FID" in dtype:
        raise UnknownFormatError(
            "an NMR FID stored as a real-only XYDATA table cannot be processed; export the "
            "FID as NTUPLES (real and imaginary pages) or read the vendor raw data", path)
    x, y, encoding, label = block_table(block, path)
    xunits = (block.get("XUNITS") or "").upper()
    return _make_nmr_spectrum(block, path, prov, x, y, None, xunits, obs, nucleus, meta,
                              vendor, centroided=label == "PEAKTABLE"), encoding


def _make_nmr_spectrum(block, path, prov, x, y, imag, xunits, obs, nucleus, meta, vendor,
                       centroided=False) -> Spectrum:
    check_data(y if imag is None else np.asarray(y) + 1j * np.asarray(imag), path,
                 f"data table of the block at line {block.start_line}")
    xunits = xunits.replace(" ", "")
    if "HZ" in xunits:
        if not obs:
            warnings.warn(f"{path}: no observe frequency; axis left in Hz", DataQualityWarning,
                          stacklevel=3)
            unit = "Hz"
        else:
            x = x / obs
            offset = vendor_float(vendor, "OFFSET")
            ref = _shift_reference(block)
            if offset is not None and x.size:
                x = x + (offset - x[0])  # Bruker: OFFSET is the ppm of the first point
                meta["referencing"] = "Bruker $OFFSET"
                meta["referenced"] = "vendor"
            elif ref is not None and x.size:
                idx = min(max(round(ref[0]) - 1, 0), x.size - 1)
                x = x + (ref[1] - x[idx])
                meta["referencing"] = ".SHIFT REFERENCE"
                meta["referenced"] = "vendor"
            else:
                meta["referencing"] = "Hz / observe frequency as written"
            unit = "ppm"
    elif "PPM" in xunits:
        unit = "ppm"
        meta["referencing"] = "ppm as written"
        meta["referenced"] = "vendor"
    else:
        raise UnknownFormatError(f"NMR spectrum with XUNITS={xunits or '(none)'}; expected HZ "
                                 "or PPM", path)
    if x.size > 1 and x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
        imag = None if imag is None else imag[::-1]
    if imag is not None:
        imag = np.array(imag, dtype=np.float64)
        imag.setflags(write=False)
        meta["imaginary"] = imag
    if x.size > 1 and np.any(np.diff(x) < 0):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return Spectrum(x, y, unit=unit, technique="nmr", nucleus=nucleus, centroided=centroided,
                    metadata=meta, provenance=prov)


def _group_delay(vendor: dict, path) -> float:
    grpdly = vendor_float(vendor, "GRPDLY")
    if grpdly is not None and grpdly > 0:
        return grpdly
    dspfvs, decim = vendor_float(vendor, "DSPFVS"), vendor_float(vendor, "DECIM")
    if dspfvs is None or decim is None:
        return 0.0
    delay = None
    if float(decim).is_integer():
        delay = _BRUKER_DSP_TABLE.get(int(dspfvs), {}).get(int(decim))
    if delay is None and dspfvs not in (0, -1):
        warnings.warn(f"{path}: no digital-filter group delay known for DSPFVS={dspfvs:g} "
                      f"DECIM={decim:g}; assuming 0 (the spectrum's first-order phase will be "
                      "large)", DataQualityWarning, stacklevel=4)
    return float(delay or 0.0)


_DECIMS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
           1536, 2048)
# Group delay in points for DSP firmware versions 10-13 by decimation factor:
# nmrglue's ``bruker_dsp_table`` (W. M. Westler's table), copied because
# importing nmrglue costs ~0.7 s and only these numbers are needed.
_BRUKER_DSP_TABLE = {
    10: dict(zip(_DECIMS, (
        44.75, 33.5, 66.625, 59.083333333333336, 68.5625, 60.375, 69.53125,
        61.020833333333336, 70.015625, 61.34375, 70.2578125, 61.505208333333336,
        70.37890625, 61.5859375, 70.439453125, 61.626302083333336, 70.4697265625,
        61.646484375, 70.48486328125, 61.656575520833336, 70.492431640625), strict=True)),
    11: dict(zip(_DECIMS, (
        46.0, 36.5, 48.0, 50.166666666666664, 53.25, 69.5, 72.25, 70.16666666666667, 72.75,
        70.5, 73.0, 70.66666666666667, 72.5, 71.33333333333333, 72.25, 71.66666666666667,
        72.125, 71.83333333333333, 72.0625, 71.91666666666667, 72.03125), strict=True)),
    12: dict(zip(_DECIMS, (
        46.0, 36.5, 48.0, 50.166666666666664, 53.25, 69.5, 71.625, 70.16666666666667,
        72.125, 70.5, 72.375, 70.66666666666667, 72.5, 71.33333333333333, 72.25,
        71.66666666666667, 72.125, 71.83333333333333, 72.0625, 71.91666666666667,
        72.03125), strict=True)),
    13: dict(zip(_DECIMS[:12], (
        2.75, 2.8333333333333335, 2.875, 2.9166666666666665, 2.9375, 2.9583333333333335,
        2.96875, 2.9791666666666665, 2.984375, 2.9895833333333335, 2.9921875,
        2.9947916666666665), strict=True)),
}


def _make_fid(block, path, prov, t, real, imag, obs, nucleus, meta, vendor) -> Fid:
    if imag is None:
        raise CorruptDataError("NMR FID without an imaginary page (FID/IMAG)", path)
    check_data(np.asarray(real) + 1j * np.asarray(imag), path,
                 f"FID of the block at line {block.start_line}")
    if t.size < 2 or not t[-1] != t[0]:
        raise CorruptDataError("FID time axis has no extent (FIRST equals LAST)", path)
    dwell = abs(t[-1] - t[0]) / (t.size - 1)
    sw_hz = 1.0 / dwell
    if not obs:
        raise CorruptDataError("NMR FID without .OBSERVE FREQUENCY", path)
    sw_ppm = sw_hz / obs
    offset = vendor_float(vendor, "OFFSET")
    o1p = vendor_float(vendor, "O1P")
    ref = _shift_reference(block)
    o1, bf1 = vendor_float(vendor, "O1"), vendor_float(vendor, "BF1")
    # acquisition parameters first: a FID export may carry processing
    # parameters of another experiment (cytisine 13C has a 1H $OFFSET)
    if o1p is not None:
        carrier = o1p
    elif o1 is not None and bf1:
        carrier = o1 / bf1
    elif offset is not None:
        carrier = offset - sw_ppm / 2
    elif ref is not None:
        n_spec = int(vendor_float(vendor, "SI") or real.size)
        carrier = ref[1] - sw_ppm * (n_spec / 2 + 1 - ref[0]) / n_spec
    else:
        warnings.warn(f"{path}: carrier frequency not recorded; carrier_ppm set to 0",
                      DataQualityWarning, stacklevel=3)
        carrier = 0.0
    sf = _spectrum_reference_mhz(vendor, obs, sw_hz, carrier)
    if sf is not None:
        meta["vendor_reference"] = {"sf_mhz": sf, "bf_mhz": bf1, "offset_ppm": offset}
    phc0, phc1 = vendor_float(vendor, "PHC0"), vendor_float(vendor, "PHC1")
    if phc0 is not None:
        meta["vendor_phase_deg"] = {"p0": phc0, "p1": phc1 or 0.0}
    meta["nucleus"] = nucleus
    return Fid(real + 1j * imag, sw_hz=sw_hz, obs_mhz=obs, carrier_ppm=carrier,
               nucleus=nucleus or "", group_delay=_group_delay(vendor, path), metadata=meta,
               provenance=prov)


def _spectrum_reference_mhz(vendor: dict, obs: float, sw_hz: float,
                            carrier_ppm: float) -> float | None:
    """Bruker SF (frequency of 0 ppm, MHz): ``$SF``, else from ``$OFFSET``, else ``$BF1``.

    TopSpin JCAMP FID exports omit ``$SF`` but keep ``$OFFSET``, the ppm of
    the first spectrum point (``SFO1 + SW/2`` in Hz), which gives SF.  An
    OFFSET that implies SF more than 10 ppm away from BF1 belongs to another
    experiment (cytisine 13C) and is ignored.
    """
    sf = vendor_float(vendor, "SF")
    bf1 = vendor_float(vendor, "BF1")
    offset = vendor_float(vendor, "OFFSET")
    if sf:
        return sf
    if bf1 is None:
        return None
    if offset is not None:
        first_hz = obs * 1e6 + sw_hz / 2
        derived = first_hz / (1 + offset * 1e-6) / 1e6
        if abs(derived - bf1) / bf1 < 1e-5:
            return derived
    return bf1


def _nmr_summary(item) -> dict:
    meta = item.metadata
    points = item.points if isinstance(item, Fid) else len(item)
    return {"nucleus": item.nucleus or None,
            "spectrometer_frequency_mhz": meta.get("spectrometer_frequency_mhz"),
            "points": points, "dimensions": 1, "solvent": meta.get("solvent"),
            "data": "fid" if isinstance(item, Fid) else "spectrum"}


# ---------------------------------------------------------------------------
# MS

register(Driver(NAME, sniff, read, "nmr",
                "JCAMP-DX (NMR spectra and FIDs, mass spectra and GC-MS series)",
                (".jdx", ".dx", ".jcamp", ".jcm")))
