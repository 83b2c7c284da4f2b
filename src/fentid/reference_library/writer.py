"""Changing a library: :func:`create` and :func:`edit` (one atomic replace per edit).

``edit`` takes the writer lock, copies the library to a temporary file beside it, hands a
:class:`LibraryWriter` on the copy to the caller, and on success bumps ``library_version``,
updates the content checksum and atomically replaces the library.  An exception (or a killed
process) leaves the previous library untouched.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import getpass
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from fentid.errors import LibraryError
from fentid.reference_library import atomic
from fentid.reference_library import schema as S
from fentid.reference_library.catalog import CompoundMatcher, load_catalog
from fentid.reference_library.columns import (
    StringPool,
    append,
    content_checksum,
    create_column,
    set_rows,
    write_fixed,
)
from fentid.reference_library.store import Library, check_root, open_h5


def _now() -> float:
    """Unix time of a change; ``SOURCE_DATE_EPOCH`` (reproducible builds) overrides the clock,
    so a library built twice from the same sources is the same file."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed:
        try:
            return float(fixed)
        except ValueError:
            pass
    return time.time()


def _now_iso() -> str:
    return _dt.datetime.fromtimestamp(_now(), _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_curator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def create(path: str | os.PathLike, name: str | None = None, catalog: list[dict] | None = None,
           curator: str | None = None) -> Path:
    """Create a new library seeded with the compound catalog.

    Parameters
    ----------
    path : path-like
        Library file to create; must not exist.
    name : str, optional
        Human-readable library name (default: the file stem).
    catalog : list of dict, optional
        Compounds to seed (default: the catalog shipped with fentid).

    Raises
    ------
    LibraryError
        When ``path`` exists or its folder is not writable.
    """
    path = Path(path)
    if path.exists():
        raise LibraryError("file exists; refusing to overwrite it", path)
    if not path.parent.is_dir():
        raise LibraryError("folder does not exist", path.parent)
    catalog = load_catalog() if catalog is None else catalog
    curator = curator or default_curator()
    with atomic.writer_lock(path):
        tmp = atomic.temp_path(path)
        try:
            with h5py.File(tmp, "w", libver=("v110", "latest")) as f:
                _init_layout(f, name or path.stem)
                w = LibraryWriter(f, tmp, curator, bump=False)
                w.add_compounds(catalog)
                w.log("create", detail={"name": name or path.stem, "catalog_compounds":
                                        len(catalog)})
                w.finish()
            atomic.commit(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return path


def _init_layout(f: h5py.File, name: str) -> None:
    now = _now_iso()
    f.attrs.update({S.ATTR_FORMAT: S.FORMAT_TAG, S.ATTR_SCHEMA_VERSION: S.SCHEMA_VERSION,
                    S.ATTR_LIBRARY_VERSION: 1, S.ATTR_NAME: name, S.ATTR_CREATED: now,
                    S.ATTR_MODIFIED: now, S.ATTR_NEXT_ENTRY_ID: 1, S.ATTR_CHECKSUM: ""})
    StringPool.create(f.create_group(S.GROUP_STRINGS))
    comps = f.create_group(S.GROUP_COMPOUNDS)
    for col in S.COMPOUND_TEXT:
        create_column(comps, col, np.int32)
    for col in S.COMPOUND_FLOAT:
        create_column(comps, col, np.float64)
    f.create_group(S.GROUP_TECHNIQUES)
    audit = f.create_group(S.GROUP_AUDIT)
    for col, spec in S.AUDIT_COLUMNS.items():
        create_column(audit, col, S.string_dtype(spec))


@contextlib.contextmanager
def edit(path: str | os.PathLike, curator: str | None = None):
    """Edit a library atomically: ``with edit(path) as w: w.add_entries(...)``.

    Raises
    ------
    LibraryLockedError
        Another writer holds the lock.
    LibraryError, LibraryVersionError
        As for :meth:`Library.open`.
    """
    path = Path(path)
    with Library.open(path):
        pass  # refuse non-libraries and unknown schemas before taking any lock
    with atomic.writer_lock(path):
        atomic.remove_stale_temps(path)
        tmp = atomic.temp_path(path)
        try:
            atomic.copy_for_edit(path, tmp)
            f = open_h5(tmp, "r+")
            try:
                check_root(f, path)
                w = LibraryWriter(f, tmp, curator or default_curator(), library_path=path)
                yield w
                if w.changed:
                    w.finish()
            finally:
                f.close()
            if w.changed:  # an edit that changed nothing leaves file and version alone
                atomic.commit(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


class LibraryWriter:
    """Appends to an open (temporary copy of a) library; used through :func:`edit`."""

    def __init__(self, f: h5py.File, path: Path, curator: str, bump: bool = True,
                 library_path: Path | None = None):
        self.f = f
        self.bump = bump
        self.path = path
        #: the library being edited (``path`` is its temporary copy); name it in messages
        self.library_path = library_path or path
        self.curator = curator
        self.strings = StringPool(f[S.GROUP_STRINGS])
        self._matcher: CompoundMatcher | None = None
        self._compounds: list[dict] | None = None
        self._new_entries: dict[str, list[int]] = {}
        self.changed = False

    # --- compounds ----------------------------------------------------------------------
    def compounds(self) -> list[dict]:
        """Every compound row as a dict (decoded once, kept up to date by add_compound)."""
        if self._compounds is None:
            grp = self.f[S.GROUP_COMPOUNDS]
            cols = {c: grp[c][...] for c in S.COMPOUND_TEXT + S.COMPOUND_FLOAT}
            self._compounds = []
            for i in range(cols["name"].size):
                row = {c: self.strings.get(cols[c][i]) for c in S.COMPOUND_TEXT}
                row["monoisotopic_mass"] = float(cols["monoisotopic_mass"][i])
                self._compounds.append(row)
        return self._compounds

    @property
    def matcher(self) -> CompoundMatcher:
        if self._matcher is None:
            self._matcher = CompoundMatcher(self.compounds())
        return self._matcher

    def add_compound(self, comp: dict) -> int:
        """Append a compound; returns its row id."""
        return int(self.add_compounds([comp])[0])

    def add_compounds(self, comps: list[dict]) -> np.ndarray:
        """Append compounds (dicts keyed like the compound table); returns their row ids."""
        first = len(self.compounds())
        grp = self.f[S.GROUP_COMPOUNDS]
        clean_rows = []
        for comp in comps:
            clean = {c: str(comp.get(c) or "") for c in S.COMPOUND_TEXT}
            mass = comp.get("monoisotopic_mass")
            clean["monoisotopic_mass"] = float("nan") if mass in (None, "") else float(mass)
            clean_rows.append(clean)
        for c in S.COMPOUND_TEXT:
            append(grp[c], [self.strings.intern(r[c]) for r in clean_rows])
        append(grp["monoisotopic_mass"], [r["monoisotopic_mass"] for r in clean_rows])
        for i, clean in enumerate(clean_rows):
            self._compounds.append(clean)
            if self._matcher is not None:
                self._matcher.add(first + i, clean)
        self.changed = True
        return np.arange(first, first + len(clean_rows))

    # --- entries ------------------------------------------------------------------------
    def _technique_group(self, technique: str) -> h5py.Group:
        if technique not in S.TECHNIQUES:
            raise LibraryError(f"unknown technique {technique!r}", self.library_path)
        techs = self.f[S.GROUP_TECHNIQUES]
        if technique in techs:
            return techs[technique]
        grp = techs.create_group(technique)
        ent = grp.create_group(S.GROUP_ENTRIES)
        for col, spec in S.ENTRY_COLUMNS.items():
            create_column(ent, col, S.string_dtype(spec))
        peaks = grp.create_group(S.GROUP_PEAKS)
        big = S.CHUNK_ELEMENTS
        create_column(peaks, S.DS_POSITION, S.position_dtype(technique), chunk_elements=big)
        create_column(peaks, S.DS_INTENSITY, S.INTENSITY_DTYPE, chunk_elements=big)
        create_column(peaks, S.DS_OFFSETS, np.int64, np.zeros(1, np.int64))
        return grp

    def add_entries(self, technique: str, position, intensity, offsets,
                    columns: dict) -> np.ndarray:
        """Append many entries of one technique from flat arrays (vectorised).

        Parameters
        ----------
        position, intensity : array_like, shape (n_peaks,)
            Concatenated peaks, m/z or ppm and relative intensity.
        offsets : array_like of int, shape (n_entries + 1,)
            Entry ``i`` owns ``position[offsets[i]:offsets[i + 1]]``; starts at 0.
        columns : dict
            Entry columns (see :data:`schema.ENTRY_COLUMNS`); each a scalar or a sequence of
            n_entries values.  Text columns take strings.  ``entry_id`` is assigned here.

        Returns
        -------
        ndarray of int64
            The new entry ids.
        """
        offsets = np.asarray(offsets, dtype=np.int64)
        n = offsets.size - 1
        if n < 1:
            return np.zeros(0, np.int64)
        position = np.asarray(position)
        if offsets[0] != 0 or offsets[-1] != position.size or np.any(np.diff(offsets) < 0):
            raise LibraryError("peak offsets do not match the peak arrays", self.library_path)
        grp = self._technique_group(technique)
        first_id = int(self.f.attrs[S.ATTR_NEXT_ENTRY_ID])
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        values = dict(columns, entry_id=ids)
        values.setdefault("curator", self.curator)
        values.setdefault("added_at", _now())
        ent = grp[S.GROUP_ENTRIES]
        for col, spec in S.ENTRY_COLUMNS.items():
            append(ent[col], self._column_values(col, spec, values.get(col), n))
        peaks = grp[S.GROUP_PEAKS]
        base = int(peaks[S.DS_OFFSETS][-1])
        append(peaks[S.DS_POSITION], position)
        append(peaks[S.DS_INTENSITY], intensity)
        append(peaks[S.DS_OFFSETS], base + offsets[1:])
        self.f.attrs[S.ATTR_NEXT_ENTRY_ID] = first_id + n
        self._new_entries.setdefault(technique, []).append(n)
        self.changed = True
        return ids

    def _column_values(self, col: str, spec, given, n: int) -> np.ndarray:
        dtype = S.string_dtype(spec)
        if given is None:
            fill = {"precursor_mz": np.nan, "collision_energy_ev": np.nan,
                    "field_mhz": np.nan}.get(col, 0)
            return np.full(n, fill, dtype)
        if spec is str:
            if isinstance(given, str):
                return np.full(n, self.strings.intern(given), dtype)
            return np.fromiter((self.strings.intern(v) for v in given), dtype, n)
        arr = np.asarray(given, dtype=dtype)
        return np.full(n, arr, dtype) if arr.ndim == 0 else arr

    def add_profile(self, technique: str, entry_row: int, axis, intensity) -> None:
        """Store a full profile spectrum for display beside an entry's peaks."""
        grp = self._technique_group(technique)
        if S.GROUP_PROFILES not in grp:
            prof = grp.create_group(S.GROUP_PROFILES)
            create_column(prof, S.DS_ROW, np.int64)
            create_column(prof, S.DS_OFFSETS, np.int64, np.zeros(1, np.int64))
            create_column(prof, S.DS_AXIS, np.float64, chunk_elements=S.CHUNK_ELEMENTS)
            create_column(prof, S.DS_INTENSITY, np.float32, chunk_elements=S.CHUNK_ELEMENTS)
        prof = grp[S.GROUP_PROFILES]
        end = int(prof[S.DS_OFFSETS][-1])
        append(prof[S.DS_ROW], [entry_row])
        append(prof[S.DS_AXIS], axis)
        append(prof[S.DS_INTENSITY], intensity)
        append(prof[S.DS_OFFSETS], [end + len(axis)])
        self.changed = True

    def n_entries(self, technique: str) -> int:
        techs = self.f[S.GROUP_TECHNIQUES]
        return 0 if technique not in techs else \
            int(techs[technique][S.GROUP_ENTRIES]["entry_id"].shape[0])

    def retire(self, entry_id: int, reason: str) -> dict:
        """Mark an entry retired (kept, excluded from search) and record why in the audit."""
        for tech in S.TECHNIQUES:
            if tech not in self.f[S.GROUP_TECHNIQUES]:
                continue
            ent = self.f[S.GROUP_TECHNIQUES][tech][S.GROUP_ENTRIES]
            rows = np.flatnonzero(ent["entry_id"][...] == int(entry_id))
            if rows.size:
                if ent["retired"][rows[0]]:
                    raise LibraryError(f"entry {entry_id} is already retired", self.library_path)
                set_rows(ent["retired"], rows, 1)
                self.log("remove", entry_id=entry_id, detail={"reason": reason,
                                                              "technique": tech})
                self.changed = True
                return {"entry_id": int(entry_id), "technique": tech}
        raise LibraryError(f"no entry {entry_id} in the library", self.library_path)

    def reassign(self, entry_id: int, compound_row: int, reason: str) -> dict:
        """Attach an entry to another compound (a curator's correction), recorded in the audit
        with the old and new compound.

        Raises
        ------
        LibraryError
            No such entry or compound, or the entry already belongs to that compound.
        """
        comp = self.f[S.GROUP_COMPOUNDS]
        n_compounds = int(comp["name"].shape[0])
        if not 0 <= int(compound_row) < n_compounds:
            raise LibraryError(f"no compound row {compound_row} in the library", self.library_path)
        names = self.compounds()
        for tech in S.TECHNIQUES:
            if tech not in self.f[S.GROUP_TECHNIQUES]:
                continue
            ent = self.f[S.GROUP_TECHNIQUES][tech][S.GROUP_ENTRIES]
            rows = np.flatnonzero(ent["entry_id"][...] == int(entry_id))
            if not rows.size:
                continue
            old = int(ent["compound"][rows[0]])
            if old == int(compound_row):
                raise LibraryError(f"entry {entry_id} already belongs to "
                                   f"{names[old]['name']}", self.library_path)
            set_rows(ent["compound"], rows, int(compound_row))
            detail = {"reason": reason, "technique": tech, "from": names[old]["name"],
                      "from_inchikey": names[old]["inchikey"],
                      "to": names[int(compound_row)]["name"],
                      "to_inchikey": names[int(compound_row)]["inchikey"]}
            self.log("reassign", entry_id=entry_id, detail=detail)
            self.changed = True
            return {"entry_id": int(entry_id), **detail}
        raise LibraryError(f"no entry {entry_id} in the library", self.library_path)

    # --- audit and commit ---------------------------------------------------------------
    def log(self, action: str, detail: dict | None = None, entry_id: int = -1) -> None:
        """Append one line to the audit table."""
        grp = self.f[S.GROUP_AUDIT]
        version = int(self.f.attrs[S.ATTR_LIBRARY_VERSION]) + int(self.bump)
        row = {"time": _now(), "library_version": version, "action": action,
               "entry_id": entry_id, "curator": self.curator,
               "detail": json.dumps(detail or {}, sort_keys=True, default=str)}
        for col, spec in S.AUDIT_COLUMNS.items():
            value = self.strings.intern(row[col]) if spec is str else row[col]
            append(grp[col], [value])
        self.changed = True

    def _update_indexes(self) -> None:
        """Index the new entries of each changed technique as one more index segment.

        Only the new spectra are indexed (the stored segments are left as they are); after
        :data:`schema.MAX_INDEX_SEGMENTS` segments the index is rebuilt as one (compaction).
        """
        if not self._new_entries:
            return
        try:
            from fentid.reference_library import search
        except ImportError:  # search module absent from this build: the library has no index
            return
        for tech, counts in self._new_entries.items():
            if tech not in S.INDEXED_TECHNIQUES:
                continue
            grp = self.f[S.GROUP_TECHNIQUES][tech]
            peaks = grp[S.GROUP_PEAKS]
            offsets = peaks[S.DS_OFFSETS][...]
            n_total, n_new = offsets.size - 1, sum(counts)
            idx_grp = grp.get(S.GROUP_INDEX)
            fresh = (idx_grp is None or idx_grp.attrs.get(S.ATTR_INDEX_PEAKS) != n_total - n_new
                     or len(idx_grp) >= S.MAX_INDEX_SEGMENTS)
            if fresh:
                if idx_grp is not None:
                    del grp[S.GROUP_INDEX]
                idx_grp = grp.create_group(S.GROUP_INDEX)
                first_row = 0
            else:
                first_row = n_total - n_new
            lo = int(offsets[first_row])
            pos = np.asarray(peaks[S.DS_POSITION][lo:], np.float64)
            inten = np.asarray(peaks[S.DS_INTENSITY][lo:], np.float64)
            sub_off = offsets[first_row:] - lo
            # MS/MS searches default to entropy: store its view rather than build it per process
            arrays = search.SearchIndex.build(pos, inten, sub_off,
                                              entropy=tech == "msms").to_arrays()
            seg = idx_grp.create_group(f"{S.SEGMENT_PREFIX}{len(idx_grp):04d}")
            seg.attrs[S.ATTR_SEGMENT_ROWS] = np.array([first_row, n_total], np.int64)
            from_peaks = []
            for name, values in (("mz", pos), ("intensity", inten), ("offsets", sub_off)):
                # the index repeats the peaks: keep them once, in /peaks
                if name in arrays and np.array_equal(np.asarray(arrays[name]), values):
                    from_peaks.append(name)
                    del arrays[name]
            seg.attrs[S.ATTR_FROM_PEAKS] = ",".join(from_peaks)
            for name, values in arrays.items():
                write_fixed(seg, name, np.asarray(values))
            idx_grp.attrs[S.ATTR_INDEX_PEAKS] = n_total

    def finish(self) -> None:
        """Flush strings, extend indexes, bump the version, stamp time and checksum."""
        self.strings.flush()
        self._update_indexes()
        if self.bump:
            self.f.attrs[S.ATTR_LIBRARY_VERSION] = int(self.f.attrs[S.ATTR_LIBRARY_VERSION]) + 1
        self.f.attrs[S.ATTR_MODIFIED] = _now_iso()
        self.f.attrs[S.ATTR_CHECKSUM] = content_checksum(self.f)
        self.f.flush()
