"""JCAMP-DX mass spectra: peak tables, continuous spectra, NTUPLES series, GC-MS scan series.

Part of the ``jcampdx`` driver (:mod:`fentid.drivers.jcampdx` registers it).
"""

from __future__ import annotations

import re

import numpy as np

from fentid.drivers._jcamp_parse import Block, Ldr, parse_float
from fentid.drivers._jcamp_tables import (
    MS_UNITS,
    STRUCTURE,
    Ntuples,
    block_table,
    npoints_of,
    vendor_records,
    xy_table,
)
from fentid.errors import CorruptDataError, UnknownFormatError
from fentid.spectra.model import Dataset, Provenance, Run, Spectrum

NAME = "jcampdx"


def ms_metadata(block: Block) -> dict:
    vendor = vendor_records(block)
    ion = (block.get(".IONIZATIONMODE") or block.get("IONIZATIONMODE")
           or vendor.get("IONISATION") or vendor.get("IONIZATION"))
    instrument = block.get("SPECTROMETERDATASYSTEM") or vendor.get("INSTRUMENT")
    meta = {"name": block.title or None, "ms_level": 1, "ionization": ion or None,
            "instrument": instrument or None, "vendor": vendor}
    energy = parse_float(block.get("ELECTRONENERGY"))
    if energy is not None:
        meta["electron_energy_ev"] = energy
    return meta


def read_ms(block: Block, path, prov: Provenance):
    meta = ms_metadata(block)
    if block.find("NTUPLES") is not None:
        return _ms_ntuples_run(block, path, prov, meta)
    x, y, encoding, label = block_table(block, path)
    xunits = (block.get("XUNITS") or "").upper().replace(" ", "")
    dclass = (block.get("DATACLASS") or "").upper()
    if "SECOND" in xunits:
        unit = "s"  # raw magnetic-sector scan: time, not yet calibrated to m/z
        meta["note"] = "abscissa is scan time in seconds (uncalibrated raw MS data)"
    elif xunits in MS_UNITS or not xunits:
        unit = "m/z"
    else:
        raise UnknownFormatError(f"mass spectrum with XUNITS={xunits}", path)
    order = np.argsort(x, kind="stable")
    centroided = label == "PEAKTABLE" or "PEAK" in dclass
    return Spectrum(x[order], y[order], unit=unit, technique="ms", centroided=centroided,
                    metadata=meta, provenance=prov), encoding


def _ms_ntuples_run(block: Block, path, prov: Provenance, meta: dict):
    """An NTUPLES MASS SPECTRUM series (one page per retention time) as a Run."""
    nt = Ntuples(block, path)
    rts, mzs, ints = [], [], []
    time_sym = next((s for s in nt.symbols if "TIME" in nt.name(s)), None)
    for page_ldr, page in nt.pages:
        m = re.search(r"([A-Za-z])\s*=\s*([^\s,;]+)", page_ldr.text)
        if m is None or (time_sym and m.group(1).upper() != time_sym):
            raise CorruptDataError(f"line {page_ldr.line}: page is not a retention time "
                                   f"({page_ldr.text})", path)
        table = next((p for p in page if p.label == "DATATABLE"), None)
        if table is None:
            raise CorruptDataError(f"line {page_ldr.line}: page without ##DATA TABLE=", path)
        npoints = npoints_of(next((p.text for p in page if p.label == "NPOINTS"), None))
        x, y, _ = xy_table(table, path, nt.number("X", "FACTOR", 1.0) or 1.0,
                            nt.number("Y", "FACTOR", 1.0) or 1.0, npoints)
        order = np.argsort(x, kind="stable")
        rts.append(float(m.group(2)))
        mzs.append(x[order])
        ints.append(y[order])
    return _make_run(rts, mzs, ints, meta, prov), "AFFN"


def _make_run(rts, mzs, ints, meta, prov) -> Run:
    sizes = np.array([a.size for a in mzs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return Run(np.array(rts, dtype=np.float64), offsets,
               np.concatenate(mzs) if mzs else np.zeros(0),
               np.concatenate(ints) if ints else np.zeros(0), centroided=True,
               metadata=meta, provenance=prov)


# ---------------------------------------------------------------------------
# JCAMP-like GC-MS scan series (one ##SCAN_NUMBER group per scan)

def is_scan_series(ldrs: list[Ldr]) -> bool:
    n_scan = sum(1 for ldr in ldrs[:2000] if ldr.label in ("SCANNUMBER", "RETENTIONTIME"))
    return n_scan >= 2 and not any(ldr.label == "NTUPLES" for ldr in ldrs[:2000])


def read_scan_series(block: Block, path, sha: str) -> Dataset:
    meta = ms_metadata(block)
    header = {}
    rts, mzs, ints, scan_numbers, tics = [], [], [], [], []
    rt = scan = tic = npoints = None
    for ldr in block.ldrs:
        if ldr.label == "RETENTIONTIME":
            rt = parse_float(ldr.text)
        elif ldr.label == "SCANNUMBER":
            scan = parse_float(ldr.text)
        elif ldr.label == "TIC":
            tic = parse_float(ldr.text)
        elif ldr.label == "NPOINTS":
            npoints = npoints_of(ldr.text)
        elif ldr.label in ("XYDATA", "PEAKTABLE", "XYPOINTS"):
            if rt is None:
                raise CorruptDataError(f"line {ldr.line}: scan without ##RETENTION_TIME=", path)
            x, y, _ = xy_table(ldr, path, 1.0, 1.0, npoints)
            order = np.argsort(x, kind="stable")
            rts.append(rt)
            mzs.append(x[order])
            ints.append(y[order])
            scan_numbers.append(scan)
            tics.append(tic)
            rt = scan = tic = npoints = None
        elif not rts and not ldr.label.startswith("$") and ldr.label not in STRUCTURE:
            header[ldr.raw_label] = ldr.text
    if not rts:
        raise CorruptDataError("scan series without any scan data", path)
    meta["scan_numbers"] = tuple(int(s) if s is not None else None for s in scan_numbers)
    meta["file_tic"] = tuple(tics)
    meta["data_format"] = block.get("DATAFORMAT")
    prov = Provenance(source=str(path), driver=NAME, sha256=sha)
    run = _make_run(rts, mzs, ints, meta, prov)
    dmeta = {"header": header, "data_type": "GC-MS SCAN SERIES (JCAMP-like)",
             "n_scans": run.n_scans, "encoding": "AFFN", "blocks": 1,
             "quirks": "no ##END=, no DATA TYPE; one SCAN_NUMBER group per scan"}
    return Dataset(path=str(path), driver=NAME, technique="ms", items=(run,), metadata=dmeta,
                   sha256=sha)
