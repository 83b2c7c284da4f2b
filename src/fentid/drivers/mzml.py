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
  A spectrum that declares points (``defaultArrayLength``) but holds no arrays
  is read as empty with a DataQualityWarning naming it.
- Legacy drafts (``<mzML version="0.93">``, ``"0.99.1"``; HUPO-PSI's own
  examples and ReAdW output) differ in structure and mislabel their binary
  encodings; ``_mzml_fast`` reads them from the file's own structure (its
  docstring says how) and warns once per file about what it corrected. The
  PSI tiny1 0.99.1 MS1 spectrum declares "32-bit float" and arrayLength 1313 for
  10,504 bytes: 1313 64-bit values whose m/z span the declared 400.39-1795.56
  (pyteomics decodes 2,626 32-bit values, alternating -2.0 and ~3.9: wrong);
  1min.mzML stores big-endian 32-bit floats (pyteomics' values are not finite
  or far outside the declared range). Unit-less scan times there are seconds.
- Chromatogram-only files (a complete mzML whose run has a chromatogramList and
  no spectrumList, e.g. OpenSWATH output) raise :class:`~fentid.errors.NoSpectraError`
  carrying a Dataset that describes them (``n_chromatograms``), so ``fentid
  info`` describes them and processing says there are no spectra.
- gzip (``.mzML.gz``) streams through :func:`fentid.drivers._gzip.open_binary`.
- Half-written files: a file that ends inside a spectrum, before ``</spectrumList>``,
  or after its spectra but without the closing ``</mzML>`` / ``</indexedmzML>`` (the
  writer has not finished the chromatograms and index yet) raises
  :class:`~fentid.errors.TruncatedDataError` (an ``IncompleteDataError``: the
  watch-folder service retries later), never a dataset of the spectra written so far.
- Reading: our own byte-level streaming scanner (``_mzml_fast``), 2x+ faster than
  pyteomics with identical arrays (benchmarks/bench_mzml_read.py). Chromatograms
  are not read.
- Sources: mzML 1.1.0 specification (HUPO-PSI), psi-ms.obo, pyteomics.mzml; the
  0.93 and 0.99.1 example files of the HUPO-PSI/mzML repository.

What ``read`` returns
---------------------
One :class:`~fentid.spectra.model.Run` with every MS1 scan that has a scan start
time (concatenated arrays, the survey scans of the chromatographic run), then one
:class:`~fentid.spectra.model.Spectrum` per MSn spectrum (and per MS1 spectrum
without a retention time), in file order. ``iter_spectra`` streams Spectrum
objects one at a time for files too large to hold.

Memory (profile runs)
---------------------
``read`` streams the file and never holds all of a run's profile data:

- MS1 scans are kept as stored (profile or centroid) while their float64
  arrays total at most ``PROFILE_BUDGET_MB`` (64 MB; every real sample is far
  below), and always in a run of fewer than ``gcms.MIN_SCANS`` (5) scans, whose
  components are its scans as stored. Past that, each profile scan is
  centroided as soon as it is read (and the scans already kept are centroided
  then) with :func:`fentid.spectra.chromatography.centroid_scan` - the
  centroiding that :func:`fentid.spectra.gcms.extract_components` applies to a
  profile Run, so components are bit-identical either way
  (tests/drivers/test_mzml_streaming.py). Reduced scans wait in two temporary
  files until the Run is built. The Run then has ``centroided=True``,
  ``metadata["processing_on_read"] = "centroided from profile on read"`` and a
  ``centroid_on_read`` provenance step with the parameters.
- Exact centroids still cost 16 bytes each, and noisy profile data has many
  (one per local maximum: 28 M for the 1 GB file of
  benchmarks/make_big_mzml.py, so that Run peaks at about 1 GB while it is
  built, against 4.3 GB when every profile point was kept).
  ``read(path, nominal_boundary=0.649)`` - what ``fentid peaks`` uses - also
  sums those scans into nominal masses as they stream
  (:func:`~fentid.spectra.chromatography.nominal_scan`): bit-identical
  component extraction and a few MB per run, 220 MB peak for that file
  (benchmarks/bench_run_memory.py).
- The raw profile of any scan stays available: ``metadata["scan_offsets"]``
  holds each MS1 scan's byte offset and :func:`read_scan_profile` re-reads just
  that scan (for a viewer).
- MSn spectra are kept as stored (:class:`Spectrum` items): fragment scans are
  small, and their profile is what a user inspects.
"""

from __future__ import annotations

import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fentid.cancellation import check as check_cancelled
from fentid.drivers._gzip import is_gzip
from fentid.drivers._mzml_fast import ScanRecord, SpectrumScanner
from fentid.drivers._tail import ends_with_closing_tag
from fentid.drivers.registry import Driver, register
from fentid.errors import (
    CorruptDataError,
    DataQualityWarning,
    FormatError,
    NoSpectraError,
    TruncatedDataError,
)
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


#: Decoded MS1 arrays (float64 m/z + intensity, in MB) that :func:`read` keeps as stored;
#: past this, profile scans are centroided as they stream (module docstring).
PROFILE_BUDGET_MB = 64.0
#: Neighbour gap used when centroiding on read (that of gcms.prepare's centroiding).
CENTROID_MAX_GAP_DA = 0.5


#: Drivers whose runs this module can re-read one scan of: driver name -> reader(path, scan id)
#: returning a ScanRecord (mzXML registers itself: no import cycle between the two drivers).
SCAN_READERS: dict = {}


def _min_scans() -> int:
    from fentid.spectra.centroid import MIN_SCANS

    return MIN_SCANS


class _RunBuilder:
    """Collects MS1 scans into the concatenated arrays of a Run, within a memory budget.

    Scans are kept as stored until their float64 arrays exceed ``budget_bytes``
    and the run has at least ``gcms.MIN_SCANS`` scans. From then on (and
    retroactively for the scans already kept) profile scans are centroided with
    :func:`~fentid.spectra.chromatography.centroid_scan` and, when
    ``nominal_boundary`` is set, every scan is summed into nominal masses with
    :func:`~fentid.spectra.chromatography.nominal_scan`; both are bit-identical
    to what :func:`fentid.spectra.gcms.extract_components` computes from the
    stored scans. Reduced scans are appended to two temporary files (m/z,
    intensity) instead of a list of small arrays: freed small arrays stay in the
    allocator's heap, which would double the run's footprint when the arrays
    are joined at the end.
    """

    def __init__(self, budget_bytes: float = PROFILE_BUDGET_MB * 1e6,
                 nominal_boundary: float | None = None):
        self.mz, self.inten = [], []  # scans held in memory (all of them until reducing)
        self.rt, self.ids, self.file_offsets = [], [], []
        self.centroided: list[bool] = []  # per scan, after any reduction
        self.spilled_sizes: list[int] = []
        self.spill = None  # (mz file, intensity file) once reducing
        self.budget_bytes = budget_bytes
        self.nominal_boundary = nominal_boundary
        self.kept_bytes = 0
        self.n_centroided = 0
        self.n_binned = 0

    def add(self, rec: ScanRecord) -> None:
        mz, inten = _sorted_arrays(rec)
        self.mz.append(mz)
        self.inten.append(inten)
        self.rt.append(rec.retention_time_s)
        self.ids.append(rec.id)
        self.file_offsets.append(rec.offset)
        self.centroided.append(bool(rec.centroided))
        if self.spill is None:
            self.kept_bytes += mz.nbytes + inten.nbytes
            # a run shorter than MIN_SCANS has no chromatography: its components are its
            # scans as stored (gcms._scan_component), so those few scans are kept as they are
            if self.kept_bytes <= self.budget_bytes or len(self.rt) < _min_scans():
                return
            # closed by close(), which build() and build_dataset (on errors) call
            self.spill = (tempfile.TemporaryFile(prefix="fentid_run_mz_"),  # noqa: SIM115
                          tempfile.TemporaryFile(prefix="fentid_run_int_"))  # noqa: SIM115
        first = len(self.rt) - len(self.mz)  # run index of self.mz[0]
        for k in range(len(self.mz)):
            self._reduce_and_spill(first + k, self.mz[k], self.inten[k])
        self.mz.clear()
        self.inten.clear()

    def _reduce_and_spill(self, i: int, mz: np.ndarray, inten: np.ndarray) -> None:
        from fentid.spectra import chromatography as chrom

        if not self.centroided[i]:
            mz, inten = chrom.centroid_scan(mz, inten, CENTROID_MAX_GAP_DA)
            self.centroided[i] = True
            self.n_centroided += 1
        if self.nominal_boundary is not None:
            mz, inten = chrom.nominal_scan(mz, inten, self.nominal_boundary)
            self.n_binned += 1
        mz.tofile(self.spill[0])
        inten.tofile(self.spill[1])
        self.spilled_sizes.append(mz.size)

    def close(self) -> None:
        """Delete the temporary files (also done by :meth:`build`)."""
        if self.spill is not None:
            for fh in self.spill:
                fh.close()
            self.spill = None

    def _arrays(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        if self.spill is None:
            sizes = [a.size for a in self.mz]
            mz = np.concatenate(self.mz) if self.mz else np.empty(0)
            self.mz.clear()
            inten = np.concatenate(self.inten) if self.inten else np.empty(0)
            self.inten.clear()
            return sizes, mz, inten
        out = []
        for fh in self.spill:
            fh.seek(0)
            out.append(np.fromfile(fh, dtype=np.float64))
        self.close()
        return self.spilled_sizes, out[0], out[1]

    def build(self, header, polarity, prov: Provenance) -> Run:
        metadata = {"instrument": header.instrument, "ionization": header.ionization,
                    "polarity": polarity, "scan_ids": tuple(self.ids), "name": "MS1 scans",
                    "scan_offsets": (tuple(self.file_offsets)
                                     if None not in self.file_offsets else None)}
        if self.n_centroided:
            metadata["processing_on_read"] = "centroided from profile on read"
            prov = prov.with_step("centroid_on_read", {
                "function": "fentid.spectra.chromatography.centroid_scan",
                "max_gap_da": CENTROID_MAX_GAP_DA, "n_scans": self.n_centroided,
                "profile_budget_mb": self.budget_bytes / 1e6})
        if self.n_binned:
            metadata["processing_on_read"] = (
                "centroided from profile and binned to nominal mass on read"
                if self.n_centroided else "binned to nominal mass on read")
            prov = prov.with_step("nominal_bin_on_read", {
                "function": "fentid.spectra.chromatography.nominal_scan",
                "mz_boundary": self.nominal_boundary, "n_scans": self.n_binned})
        sizes, mz, inten = self._arrays()
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return Run(retention_time_s=np.array(self.rt, dtype=float), offsets=offsets,
                   mz=mz, intensity=inten, ms_level=np.ones(len(self.rt), np.int8),
                   centroided=all(self.centroided), metadata=metadata, provenance=prov)


def check_closing_tag(path: Path) -> None:
    """Raise :class:`TruncatedDataError` unless ``path`` ends with ``</mzML>`` or
    ``</indexedmzML>``.

    The spectrum scanner stops at ``</spectrumList>``; a file cut after that (its writer
    still adding chromatograms and the index) would otherwise read as complete.
    """
    if not ends_with_closing_tag(path, "mzML", "indexedmzML"):
        raise TruncatedDataError("file ends without its closing </mzML> tag (the writer has "
                                 "not finished it, or it was cut short): the mzML is "
                                 "truncated", path)


def read(path: Path, *, profile_budget_mb: float = PROFILE_BUDGET_MB,
         nominal_boundary: float | None = None) -> Dataset:
    """Read an mzML file: one Run of the MS1 scans plus a Spectrum per MSn spectrum.

    The file is streamed; what memory holds is bounded as described in the
    module docstring ("Memory").

    Parameters
    ----------
    path : path-like
    profile_budget_mb : float
        MS1 scans are kept as stored while their float64 arrays total at most
        this many MB; past it, profile scans are centroided as they are read
        (0: always centroid profile MS1 scans).
    nominal_boundary : float, optional
        Also sum the MS1 scans past the budget into nominal masses with this
        bin boundary (0.649: NIST/AMDIS) - all component extraction needs,
        bit-identical for it, and a few MB for any run.

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
    try:
        dataset = build_dataset(path, NAME, scanner, lambda: scanner.header,
                                profile_budget_mb=profile_budget_mb,
                                nominal_boundary=nominal_boundary)
        check_closing_tag(path)
        return dataset
    except NoSpectraError as exc:
        exc.dataset = _no_spectra_dataset(path, scanner.header)
        raise


def _no_spectra_dataset(path, header) -> Dataset:
    """What ``fentid info`` shows for a complete mzML without spectra (chromatograms only)."""
    return Dataset(path=str(path), driver=NAME, technique="ms", items=(), sha256=hash_source(path),
                   metadata={"n_spectra": 0, "ms_levels": {}, "n_scans": 0,
                             "n_chromatograms": header.chromatograms,
                             "content": "chromatograms only" if header.chromatograms
                             else "no spectra",
                             "instrument": header.instrument, "ionization": header.ionization,
                             "mzml_version": header.version})


def read_scan_profile(run: Run, i: int) -> Spectrum:
    """Re-read scan ``i`` of a Run from its mzML/mzXML file, as stored (profile included).

    For viewers: a run centroided on read still shows the raw profile of the
    scan under the cursor. Only that scan's bytes are read (mzML: from the
    byte offset recorded while streaming; mzXML: found by its scan number).

    Parameters
    ----------
    run : Run
        Read by the mzml or mzxml driver (its ``metadata["scan_ids"]`` and,
        for mzML, ``metadata["scan_offsets"]``; the file named in its provenance).
    i : int
        0-based scan index in the run.

    Returns
    -------
    Spectrum
        As stored in the file (``centroided`` False for a profile scan), m/z
        ascending, metadata as for MSn spectra.

    Raises
    ------
    CorruptDataError
        The scan at the recorded position is not the run's scan (the file changed).
    FormatError
        The run was not read from an mzML or mzXML file.
    """
    from fentid.drivers._mzml_fast import MzmlHeader, read_record_at

    path = run.provenance.source
    ids = run.metadata.get("scan_ids") or ()
    if not 0 <= i < len(ids):
        raise IndexError(f"scan index {i} outside the run's {len(ids)} scans")
    if run.provenance.driver == NAME and run.metadata.get("scan_offsets"):
        rec = read_record_at(path, run.metadata["scan_offsets"][i], i)
    elif run.provenance.driver in SCAN_READERS:
        rec = SCAN_READERS[run.provenance.driver](path, ids[i])
    else:
        raise FormatError(f"no stored profile to re-read for a run from driver "
                          f"{run.provenance.driver!r}", path)
    if rec.id != ids[i]:
        raise CorruptDataError(f"scan {i} should be {ids[i]!r} but the file has {rec.id!r} "
                               "there: the file changed since it was read", path)
    header = MzmlHeader(None, run.metadata.get("instrument"), run.metadata.get("ionization"), {})
    prov = Provenance(source=str(path), driver=run.provenance.driver,
                      sha256=run.provenance.sha256)
    return _to_spectrum(rec, header, prov)


def build_dataset(path, driver: str, records, header_fn, count_label="spectrumList", *,
                  profile_budget_mb: float = PROFILE_BUDGET_MB,
                  nominal_boundary: float | None = None) -> Dataset:
    """Assemble a Dataset (Run of MS1 scans + MSn Spectrum items) from ScanRecords.

    Shared by the mzML and mzXML drivers. MS1 scans are reduced as they stream
    once they exceed ``profile_budget_mb`` (see :func:`read`).

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
    profile_budget_mb, nominal_boundary
        As for :func:`read`.
    """
    sha = hash_source(path)
    run = _RunBuilder(profile_budget_mb * 1e6, nominal_boundary)
    others: list[Spectrum] = []
    pending: list[ScanRecord] = []
    levels: Counter = Counter()
    polarities: Counter = Counter()
    rts, mz_lo, mz_hi = [], [], []
    first_ms1_pos = None
    n = 0
    notes: dict[str, list[str]] = {}  # what decoding corrected -> spectrum ids
    try:
        for rec in records:
            n += 1
            check_cancelled()  # a 1 GB run streams for minutes: the viewer's Cancel
            for note in rec.notes:
                notes.setdefault(note, []).append(rec.id)
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
    except BaseException:
        run.close()  # delete its temporary files now, not at garbage collection
        raise
    header = header_fn()
    for rec in pending:
        prov = Provenance(source=str(path), driver=driver, sha256=sha, record=rec.index + 1)
        others.append(_to_spectrum(rec, header, prov))
    if header.declared_count is not None and header.declared_count != n:
        warnings.warn(
            f"{path}: {count_label} declares count={header.declared_count} but the file "
            f"contains {n} spectra; using the {n} present", DataQualityWarning, stacklevel=3)
    _warn_notes(path, notes, n, header)
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
    if getattr(header, "version", None):
        metadata["mzml_version"] = header.version
    if is_gzip(Path(path)):
        metadata["compression"] = "gzip"
    return Dataset(path=str(path), driver=driver, technique="ms", items=tuple(items),
                   metadata=metadata, sha256=sha)


def _warn_notes(path, notes: dict[str, list[str]], n: int, header) -> None:
    """One DataQualityWarning per kind of correction made while decoding, naming spectra."""
    version = f"mzML {header.version}: " if getattr(header, "legacy", False) else ""
    for note, ids in notes.items():
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        warnings.warn(f"{path}: {version}{len(ids)} of {n} spectra ({shown}): {note}",
                      DataQualityWarning, stacklevel=4)


register(Driver(NAME, sniff, read, "ms", "mzML mass spectra (HUPO-PSI)", (".mzml",),
                reads_gzip=True))
