"""Reading a library: ``Library.open(path)`` (read-only, a context manager).

Opening reads only the root attributes; every table is read on first use, and the peak and
search-index arrays are read straight into numpy arrays (no Python object per peak).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

import h5py
import numpy as np

from fentid.errors import LibraryError, LibraryVersionError
from fentid.reference_library import schema as S
from fentid.reference_library.columns import StringPool

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_root(f: h5py.File, path) -> None:
    """Refuse files that are not fentid libraries or have a schema this code does not know."""
    if f.attrs.get(S.ATTR_FORMAT) != S.FORMAT_TAG:
        raise LibraryError(
            "HDF5 file is not a fentid library (no 'fentid_library' marker); create one with "
            "`fentid library create`", path)
    version = f.attrs.get(S.ATTR_SCHEMA_VERSION)
    if version is None or int(version) != S.SCHEMA_VERSION:
        newer = version is not None and int(version) > S.SCHEMA_VERSION
        hint = "upgrade fentid to read it" if newer else "it cannot be read by this version"
        raise LibraryVersionError(
            f"library schema_version {version} is not supported (this fentid reads version "
            f"{S.SCHEMA_VERSION}); {hint}", path)
    for group in (S.GROUP_STRINGS, S.GROUP_COMPOUNDS, S.GROUP_TECHNIQUES, S.GROUP_AUDIT):
        if group not in f:
            raise LibraryError(f"library is damaged: group /{group} is missing", path)


def open_h5(path, mode: str) -> h5py.File:
    """Open an HDF5 file, turning 'not there' and 'not HDF5' into clear LibraryErrors."""
    path = Path(path)
    if not path.is_file():
        raise LibraryError("no such library file", path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != HDF5_SIGNATURE:
        raise LibraryError("not an HDF5 file, so not a fentid library", path)
    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise LibraryError(f"cannot open HDF5 file: {exc}", path) from exc


def read_tree(group: h5py.Group, mapper=None) -> dict[str, np.ndarray]:
    """Every dataset below ``group`` by its relative path (``a/b``).

    ``mapper(dataset)`` may return a zero-copy view (memory map) or None to read normally.
    """
    out: dict[str, np.ndarray] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            view = mapper(obj) if mapper else None
            out[name] = obj[...] if view is None else view

    group.visititems(visit)
    return out


def _decode_row(pool: StringPool, columns: dict, row: int, spec: dict) -> dict:
    out = {}
    for name, kind in spec.items():
        value = columns[name][row]
        out[name] = pool.get(value) if kind is str else value.item()
    return out


class Library:
    """A reference library opened read-only.

    Use as a context manager, or call :meth:`close`.  The underlying file is held open, so a
    writer replacing the library meanwhile does not disturb this reader.
    """

    def __init__(self, f: h5py.File, path: Path):
        self._f = f
        self.path = path
        self.strings = StringPool(f[S.GROUP_STRINGS])
        self._entries: dict[str, dict[str, np.ndarray]] = {}
        self._compounds: dict[str, np.ndarray] | None = None
        self._mmap = None

    @classmethod
    def open(cls, path: str | os.PathLike) -> Library:
        """Open ``path`` read-only.

        Raises
        ------
        LibraryError
            When the file is missing, not HDF5, or not a fentid library.
        LibraryVersionError
            When its schema_version is not the one this code reads.
        """
        path = Path(path)
        f = open_h5(path, "r")
        try:
            check_root(f, path)
        except LibraryError:
            f.close()
            raise
        return cls(f, path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def _map(self, ds: h5py.Dataset) -> np.ndarray | None:
        """Read-only memory map of a contiguous, unfiltered dataset (None when not possible).

        The map is made from the descriptor HDF5 already holds, so it shows the same inode
        this reader opened even if a writer replaces the library meanwhile; pages are read
        only when a search touches them.
        """
        if ds.chunks is not None or ds.compression or ds.size == 0 or ds.ndim != 1:
            return None
        offset = ds.id.get_offset()
        if offset is None:
            return None
        if self._mmap is None:
            import mmap

            fd = self._f.id.get_vfd_handle()
            self._mmap = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        return np.frombuffer(self._mmap, dtype=ds.dtype, count=ds.size, offset=offset)

    # --- attributes ---------------------------------------------------------------------
    @property
    def attrs(self) -> dict:
        """Root attributes (schema_version, library_version, name, created, modified, ...)."""
        return {k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in self._f.attrs.items()}

    @property
    def library_version(self) -> int:
        return int(self._f.attrs[S.ATTR_LIBRARY_VERSION])

    @property
    def checksum(self) -> str:
        return str(self._f.attrs[S.ATTR_CHECKSUM])

    def techniques(self) -> list[str]:
        """Techniques that have at least one entry."""
        grp = self._f[S.GROUP_TECHNIQUES]
        return [t for t in S.TECHNIQUES if t in grp]

    def _tech(self, technique: str) -> h5py.Group:
        if technique not in S.TECHNIQUES:
            raise LibraryError(f"unknown technique {technique!r}; known: "
                               f"{', '.join(S.TECHNIQUES)}", self.path)
        grp = self._f[S.GROUP_TECHNIQUES]
        if technique not in grp:
            raise LibraryError(f"library has no {technique} entries", self.path)
        return grp[technique]

    # --- peaks and index ----------------------------------------------------------------
    def peaks(self, technique: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All peaks of one technique as flat arrays.

        Returns
        -------
        position : ndarray, shape (n_peaks,)
            m/z (float32 for EI, float64 otherwise) or ppm (float64).
        intensity : ndarray of float32, shape (n_peaks,)
        offsets : ndarray of int64, shape (n_entries + 1,)
            Entry row ``i`` owns ``position[offsets[i]:offsets[i + 1]]``.
        """
        grp = self._tech(technique)[S.GROUP_PEAKS]
        return grp[S.DS_POSITION][...], grp[S.DS_INTENSITY][...], grp[S.DS_OFFSETS][...]

    def index_segments(self, technique: str) -> list[dict[str, np.ndarray]]:
        """The stored search-index segments of a technique, each as ``to_arrays()`` gave it
        (arrays shared with the peaks are filled back in).  Empty when none is stored."""
        tech = self._tech(technique)
        if S.GROUP_INDEX not in tech:
            return []
        peaks = tech[S.GROUP_PEAKS]
        offsets = peaks[S.DS_OFFSETS][...]
        out = []
        for name in sorted(tech[S.GROUP_INDEX]):
            seg = tech[S.GROUP_INDEX][name]
            first, stop = (int(v) for v in seg.attrs[S.ATTR_SEGMENT_ROWS])
            arrays = read_tree(seg, self._map)
            lo, hi = int(offsets[first]), int(offsets[stop])
            for key in filter(None, str(seg.attrs.get(S.ATTR_FROM_PEAKS, "")).split(",")):
                arrays[key] = self._shared_index_array(peaks, key, lo, hi,
                                                       offsets[first:stop + 1])
            out.append(arrays)
        return out

    def _shared_index_array(self, peaks: h5py.Group, key: str, lo: int, hi: int,
                            offsets: np.ndarray):
        """An index array that equals the peaks (not stored twice): mz, intensity, offsets.

        The peaks come as a loader (read on first use: NIST search never needs them), so
        opening the index does not read every peak of the library.
        """
        if key == "offsets":
            return offsets - lo
        ds = peaks[{"mz": S.DS_POSITION, "intensity": S.DS_INTENSITY}[key]]
        mapped = self._map(ds)  # a map reads no page yet, and outlives close()
        if mapped is not None:
            return lambda: np.asarray(mapped[lo:hi], np.float64)
        path = self.path

        def load():  # chunked (appendable) peaks: read through HDF5, the file must be open
            try:
                return np.asarray(ds[lo:hi], np.float64)
            except (ValueError, RuntimeError, KeyError) as exc:
                raise LibraryError("the library was closed before its peaks were read for "
                                   "this search; search while it is open", path) from exc
        return load

    def search_index(self, technique: str):
        """The technique's search index, restored from the stored segments.

        Built from the peaks when the file carries none (written before the search module
        existed).  Retired entries are in the index: filter hits with ``entry_columns``.
        """
        from fentid.reference_library import search

        if technique not in S.INDEXED_TECHNIQUES:
            raise LibraryError(f"{technique} entries have no search index (it serves "
                               f"{', '.join(S.INDEXED_TECHNIQUES)}); score their peak lists "
                               "with entry_peaklist", self.path)
        segments = [search.SearchIndex.from_arrays(a) for a in self.index_segments(technique)]
        if not segments:
            return search.SearchIndex.build(*self.peaks(technique))
        if len(segments) == 1:
            return segments[0]
        concat = getattr(search.SearchIndex, "concat", None)
        if concat is not None:
            return concat(segments)
        # search.py has no public concat yet: join the segments the way its add() does
        return search.SearchIndex([s for idx in segments for s in idx._segments])

    # --- tables -------------------------------------------------------------------------
    def entry_columns(self, technique: str) -> dict[str, np.ndarray]:
        """Entry table of one technique as numpy columns (text columns are pool indices)."""
        if technique not in self._entries:
            grp = self._tech(technique)[S.GROUP_ENTRIES]
            self._entries[technique] = {name: grp[name][...] for name in S.ENTRY_COLUMNS}
        return self._entries[technique]

    def compound_columns(self) -> dict[str, np.ndarray]:
        if self._compounds is None:
            grp = self._f[S.GROUP_COMPOUNDS]
            self._compounds = {n: grp[n][...] for n in S.COMPOUND_TEXT + S.COMPOUND_FLOAT}
        return self._compounds

    def n_compounds(self) -> int:
        return int(self._f[S.GROUP_COMPOUNDS]["name"].shape[0])

    def compound_row(self, row: int) -> dict:
        """Compound ``row`` as a dict (text fields decoded; ``id`` is the row)."""
        cols = self.compound_columns()
        out = {"id": int(row)}
        for name in S.COMPOUND_TEXT:
            out[name] = self.strings.get(cols[name][row])
        out["monoisotopic_mass"] = float(cols["monoisotopic_mass"][row])
        return out

    def compounds(self) -> list[dict]:
        return [self.compound_row(i) for i in range(self.n_compounds())]

    def compound(self, key: str) -> dict:
        """Find a compound by InChIKey or (normalised) name or synonym."""
        from fentid.reference_library.catalog import CompoundMatcher

        row = CompoundMatcher(self.compounds()).match(inchikey=key, name=key)
        if row is None:
            raise LibraryError(f"no compound {key!r} in the library", self.path)
        return self.compound_row(row)

    def entries(self, technique: str | None = None, include_retired: bool = True) -> list[dict]:
        """Entries as dicts: entry_id, compound, inchikey, technique, source, source_record,
        licence, accession, precursor_mz, ..., retired."""
        out = []
        for tech in [technique] if technique else self.techniques():
            cols = self.entry_columns(tech)
            for row in range(cols["entry_id"].size):
                if not include_retired and cols["retired"][row]:
                    continue
                out.append(self.entry_at(tech, row))
        return out

    def entry_at(self, technique: str, row: int) -> dict:
        """Entry ``row`` of ``technique`` as a dict (as :meth:`entries` lists them)."""
        cols = self.entry_columns(technique)
        rec = _decode_row(self.strings, cols, row, S.ENTRY_COLUMNS)
        comp = self.compound_row(rec["compound"])
        rec.update(technique=technique, compound_id=rec["compound"], compound=comp["name"],
                   inchikey=comp["inchikey"], compound_class=comp["compound_class"],
                   isomer_group=comp["isomer_group"], retired=bool(rec["retired"]),
                   source_record=rec["source_record"] or None)
        return rec

    def locate(self, entry_id: int) -> tuple[str, int]:
        """(technique, row) of an entry id."""
        entry_id = int(entry_id)
        for tech in self.techniques():
            ids = self.entry_columns(tech)["entry_id"]
            hit = np.flatnonzero(ids == entry_id)
            if hit.size:
                return tech, int(hit[0])
        raise LibraryError(f"no entry {entry_id} in the library", self.path)

    def entry(self, entry_id: int) -> dict:
        return self.entry_at(*self.locate(entry_id))

    def entry_peaks(self, technique: str, row: int) -> tuple[np.ndarray, np.ndarray]:
        grp = self._tech(technique)[S.GROUP_PEAKS]
        lo, hi = grp[S.DS_OFFSETS][row:row + 2]
        return grp[S.DS_POSITION][lo:hi].astype(np.float64), grp[S.DS_INTENSITY][lo:hi]

    def entry_peaklist(self, entry_id: int):
        """The entry's peaks as a :class:`~fentid.spectra.model.PeakList`."""
        from fentid.spectra.model import PeakList, Provenance

        tech, row = self.locate(entry_id)
        rec = self.entry_at(tech, row)
        pos, inten = self.entry_peaks(tech, row)
        meta = {"name": rec["record_name"] or rec["compound"], "entry_id": rec["entry_id"],
                "inchikey": rec["inchikey"], "licence": rec["licence"]}
        if np.isfinite(rec["precursor_mz"]):
            meta["precursor_mz"] = rec["precursor_mz"]
        prov = Provenance(source=rec["source"], driver="fentid-library", sha256=rec["sha256"],
                          record=rec["source_record"])
        return PeakList.from_unsorted(pos, inten, unit=S.UNIT[tech],
                                      technique="nmr" if tech.startswith("nmr") else "ms",
                                      nucleus=S.NUCLEUS.get(tech), metadata=meta,
                                      provenance=prov)

    def profile(self, entry_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The entry's full profile spectrum (axis, intensity), or None when not stored."""
        tech, row = self.locate(entry_id)
        grp = self._tech(tech)
        if S.GROUP_PROFILES not in grp:
            return None
        prof = grp[S.GROUP_PROFILES]
        hit = np.flatnonzero(prof[S.DS_ROW][...] == row)
        if not hit.size:
            return None
        lo, hi = prof[S.DS_OFFSETS][hit[0]:hit[0] + 2]
        return prof[S.DS_AXIS][lo:hi], prof[S.DS_INTENSITY][lo:hi]

    def audit(self) -> list[dict]:
        """The audit trail, oldest first."""
        grp = self._f[S.GROUP_AUDIT]
        cols = {name: grp[name][...] for name in S.AUDIT_COLUMNS}
        return [_decode_row(self.strings, cols, i, S.AUDIT_COLUMNS)
                for i in range(cols["time"].size)]
