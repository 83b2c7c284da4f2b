"""mzML (HUPO-PSI) mass spectra: profile and centroid, MS1 and MSn.

Format notes
------------
- Layout: XML. ``<mzML>`` (optionally wrapped in ``<indexedmzML>`` with a byte-offset
  index at the end) holds a header (cvList, fileDescription,
  referenceableParamGroupList, instrumentConfigurationList, ...) and a
  ``<spectrumList count="N">`` of ``<spectrum>`` elements, then chromatograms.
- Each spectrum carries cvParams (MS:1000511 ms level, MS:1000127/128 centroid or
  profile, MS:1000130/129 polarity, MS:1000016 scan start time with a unit, usually
  minutes), a ``<precursorList>`` for MSn (MS:1000744 selected ion m/z, MS:1000041
  charge, ``<activation>`` with the method and MS:1000045 collision energy in eV)
  and a ``<binaryDataArrayList>``: base64 of little-endian 32/64-bit floats or
  ints (MS:1000521/523/519/522), zlib-compressed (MS:1000574) or not (MS:1000576).
- Quirks: cvParams may live in a referenceableParamGroup referenced from the
  spectrum or array; ProteoWizard excerpts keep the original ``spectrumList count``
  (two of our samples declare 8761 and 2918 spectra but contain 12 and 11): we
  trust the content and warn. MS-Numpress arrays are refused with a message.
- Reading: our own byte-level streaming scanner (``_mzml_fast``), 2x+ faster than
  pyteomics with identical arrays (benchmarks/bench_mzml_read.py). Chromatograms
  are not read.
- Sources: mzML 1.1.0 specification (HUPO-PSI), psi-ms.obo, pyteomics.mzml.

What ``read`` returns
---------------------
One :class:`~fentid.spectra.model.Run` with every MS1 scan that has a scan start
time (concatenated arrays, the survey scans of the chromatographic run), then one
:class:`~fentid.spectra.model.Spectrum` per MSn spectrum (and per MS1 spectrum
without a retention time), in file order. ``iter_spectra`` streams Spectrum
objects one at a time for files too large to hold.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fentid.drivers._mzml_fast import ScanRecord, SpectrumScanner
from fentid.drivers.registry import Driver, register
from fentid.errors import DataQualityWarning
from fentid.spectra.model import Dataset, Provenance, Run, Spectrum, hash_source

NAME = "mzml"


def sniff(path: Path, head: bytes) -> bool:
    """mzML root element in the head, and not an imzML (which reuses the mzML schema)."""
    if b"<mzML" not in head and b"<indexedmzML" not in head:
        return False
    return b"IMS:1000" not in head and b'id="IMS"' not in head


def _sorted_arrays(rec: ScanRecord) -> tuple[np.ndarray, np.ndarray]:
    mz = np.asarray(rec.mz, dtype=np.float64)
    inten = np.asarray(rec.intensity, dtype=np.float64)
    if mz.size > 1 and np.any(np.diff(mz) < 0):
        order = np.argsort(mz, kind="stable")
        mz, inten = mz[order], inten[order]
    return mz, inten


def _spectrum_metadata(rec: ScanRecord, header) -> dict:
    meta = {
        "name": rec.params.get("spectrum title") or rec.id,
        "scan_id": rec.id,
        "ms_level": rec.ms_level,
        "retention_time_s": rec.retention_time_s,
        "polarity": rec.polarity,
        "instrument": header.instrument,
        "ionization": header.ionization,
        "vendor": dict(rec.params),
    }
    if rec.ms_level is not None and rec.ms_level > 1 or rec.precursor_mz is not None:
        meta.update(precursor_mz=rec.precursor_mz, precursor_charge=rec.precursor_charge,
                    activation=rec.activation, collision_energy_ev=rec.collision_energy_ev)
    return meta


def _to_spectrum(rec: ScanRecord, header, prov: Provenance) -> Spectrum:
    mz, inten = _sorted_arrays(rec)
    return Spectrum(mz, inten, unit="m/z", technique="ms", centroided=bool(rec.centroided),
                    metadata=_spectrum_metadata(rec, header), provenance=prov)


def iter_spectra(path) -> Iterator[Spectrum]:
    """Stream the spectra of an mzML file as :class:`Spectrum` objects, one at a time.

    Peak memory stays at one spectrum plus a few MB of read buffer, so files
    larger than memory can be processed.

    Parameters
    ----------
    path : path-like

    Yields
    ------
    Spectrum
        m/z axis (ascending) and intensities as float64; metadata as in :func:`read`.
        ``provenance.sha256`` is left empty (hashing would read the file twice);
        ``provenance.record`` is the 1-based spectrum position.
    """
    scanner = SpectrumScanner(path)
    for rec in scanner:
        prov = Provenance(source=str(path), driver=NAME, record=rec.index + 1)
        yield _to_spectrum(rec, scanner.header, prov)


class _RunBuilder:
    """Collects MS1 scans into the concatenated arrays of a Run."""

    def __init__(self):
        self.mz, self.inten, self.rt, self.ids = [], [], [], []
        self.centroided = []

    def add(self, rec: ScanRecord) -> None:
        mz, inten = _sorted_arrays(rec)
        self.mz.append(mz)
        self.inten.append(inten)
        self.rt.append(rec.retention_time_s)
        self.ids.append(rec.id)
        self.centroided.append(bool(rec.centroided))

    def build(self, header, polarity, prov: Provenance) -> Run:
        sizes = [a.size for a in self.mz]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return Run(
            retention_time_s=np.array(self.rt, dtype=float), offsets=offsets,
            mz=np.concatenate(self.mz) if self.mz else np.empty(0),
            intensity=np.concatenate(self.inten) if self.inten else np.empty(0),
            ms_level=np.ones(len(self.rt), np.int8), centroided=all(self.centroided),
            metadata={"instrument": header.instrument, "ionization": header.ionization,
                      "polarity": polarity, "scan_ids": tuple(self.ids),
                      "name": "MS1 scans"},
            provenance=prov)


def read(path: Path) -> Dataset:
    """Read an mzML file: one Run of the MS1 scans plus a Spectrum per MSn spectrum.

    Returns
    -------
    Dataset
        ``metadata`` holds ``n_spectra``, ``ms_levels`` ({level: count}), ``n_scans``
        (every spectrum is one instrument scan, so equal to ``n_spectra``),
        ``retention_time_range_s``, ``mz_range``, ``instrument``, ``ionization``,
        ``polarity`` and ``declared_count`` (the file's spectrumList count).

    Raises
    ------
    CorruptDataError
        Truncated file, invalid base64 or zlib data, arrays of the wrong length.
    FormatError
        MS-Numpress compressed arrays.
    """
    scanner = SpectrumScanner(path)
    return build_dataset(path, NAME, scanner, lambda: scanner.header)


def build_dataset(path, driver: str, records, header_fn, count_label="spectrumList") -> Dataset:
    """Assemble a Dataset (Run of MS1 scans + MSn Spectrum items) from ScanRecords.

    Shared by the mzML and mzXML drivers.

    Parameters
    ----------
    path : path-like
    driver : str
        Driver name for provenance.
    records : iterable of ScanRecord
        Consumed once, in file order.
    header_fn : callable() -> MzmlHeader
        Called after ``records`` is exhausted (instrument, ionisation, declared count).
    count_label : str
        Name of the element whose count attribute is checked, for the warning.
    """
    sha = hash_source(path)
    run = _RunBuilder()
    others: list[Spectrum] = []
    pending: list[ScanRecord] = []
    levels: Counter = Counter()
    polarities: Counter = Counter()
    rts, mz_lo, mz_hi = [], [], []
    first_ms1_pos = None
    n = 0
    for rec in records:
        n += 1
        level = rec.ms_level or 1
        levels[level] += 1
        if rec.polarity:
            polarities[rec.polarity] += 1
        if rec.retention_time_s is not None:
            rts.append(rec.retention_time_s)
        if rec.mz.size:
            mz_lo.append(float(rec.mz.min()))
            mz_hi.append(float(rec.mz.max()))
        if level == 1 and rec.retention_time_s is not None:
            if first_ms1_pos is None:
                first_ms1_pos = len(others) + len(pending)
            run.add(rec)
        else:
            # the header (instrument) is complete only after the first spectrum was seen
            pending.append(rec)
    header = header_fn()
    for rec in pending:
        prov = Provenance(source=str(path), driver=driver, sha256=sha, record=rec.index + 1)
        others.append(_to_spectrum(rec, header, prov))
    if header.declared_count is not None and header.declared_count != n:
        warnings.warn(
            f"{path}: {count_label} declares count={header.declared_count} but the file "
            f"contains {n} spectra; using the {n} present", DataQualityWarning, stacklevel=3)
    polarity = "/".join(sorted(polarities)) or None
    items: list = list(others)
    if run.rt:
        prov = Provenance(source=str(path), driver=driver, sha256=sha)
        items.insert(first_ms1_pos, run.build(header, polarity, prov))
    metadata = {
        "n_spectra": n,
        "ms_levels": dict(sorted(levels.items())),
        "n_scans": n,
        "retention_time_range_s": [min(rts), max(rts)] if rts else None,
        "mz_range": [min(mz_lo), max(mz_hi)] if mz_lo else None,
        "instrument": header.instrument,
        "ionization": header.ionization,
        "polarity": polarity,
        "declared_count": header.declared_count,
    }
    return Dataset(path=str(path), driver=driver, technique="ms", items=tuple(items),
                   metadata=metadata, sha256=sha)


register(Driver(NAME, sniff, read, "ms", "mzML mass spectra (HUPO-PSI)", (".mzml",)))
