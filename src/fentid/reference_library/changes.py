"""What changed in a library since one of its versions, and sub-libraries of a few entries.

Re-screening an archive (``fentid rescreen``, delta mode) searches only the entries added or
changed since the version the archive was screened with.  The library records no entry's
version directly, but its audit trail does record when each version was made: every edit
appends entries (``added_at``) before it logs its audit lines (same session, same version),
so an entry belongs to a version later than ``V`` exactly when it was added after the last
audit line of version ``V``.  Retirements and reassignments name their entry in the audit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fentid.errors import LibraryError
from fentid.reference_library import schema as S
from fentid.reference_library.store import Library

#: Audit actions that change one existing entry (named by ``entry_id``).
ENTRY_ACTIONS = ("remove", "reassign")


def changes_since(lib: Library, version: int) -> dict:
    """Entries added or changed after library version ``version``.

    Parameters
    ----------
    lib : Library
        The (newer) library.
    version : int
        A version of the same library (its audit trail must go back to it).

    Returns
    -------
    dict
        ``added`` (entry ids, live and retired), ``changed`` (ids retired or reassigned),
        ``live`` (sorted ids of added or changed entries that are not retired: what a delta
        search must cover), ``version`` and ``current`` (the library's version).

    Raises
    ------
    LibraryError
        ``version`` is newer than the library, older than its audit trail, or the audit
        trail cannot order the changes (a library built with a fixed ``SOURCE_DATE_EPOCH``
        stamps every version with the same time).
    """
    current = lib.library_version
    version = int(version)
    if version > current:
        raise LibraryError(f"version {version} is newer than this library (version "
                           f"{current})", lib.path)
    audit = lib.audit()
    before = [a["time"] for a in audit if a["library_version"] <= version]
    after = [a for a in audit if a["library_version"] > version]
    if not before:
        raise LibraryError(f"the audit trail does not go back to version {version}", lib.path)
    cut = max(before)
    if after and min(a["time"] for a in after) <= cut:
        raise LibraryError(f"the audit trail cannot order the changes after version "
                           f"{version} (equal timestamps); search the whole library or "
                           "name the entries", lib.path)
    added: list[int] = []
    live: list[int] = []
    for tech in lib.techniques():
        cols = lib.entry_columns(tech)
        new = cols["added_at"] > cut
        added += cols["entry_id"][new].tolist()
    changed = sorted({int(a["entry_id"]) for a in after
                      if a["action"] in ENTRY_ACTIONS and a["entry_id"] >= 0})
    for tech in lib.techniques():
        cols = lib.entry_columns(tech)
        want = np.isin(cols["entry_id"], np.asarray(sorted(set(added) | set(changed)),
                                                    np.int64))
        live += cols["entry_id"][want & (cols["retired"] == 0)].tolist()
    return {"version": version, "current": current, "added": sorted(added),
            "changed": changed, "live": sorted(int(i) for i in live)}


def write_subset(source: str | os.PathLike, entry_ids, out: str | os.PathLike
                 ) -> dict[int, int]:
    """A library file holding only some entries of ``source`` (for searching them alone).

    The compound table is copied whole and in order, so compound rows and names agree with
    the source; entries get new ids in the order returned.  Scores are pairwise (query
    against one reference), so searching the subset gives each entry the score it has in
    the source.

    Parameters
    ----------
    source : path-like
        The library.
    entry_ids : iterable of int
        Entries to copy (retired ones are copied as retired).
    out : path-like
        New file (must not exist).

    Returns
    -------
    dict
        Subset entry id -> source entry id.
    """
    from fentid.reference_library.writer import create, edit

    wanted = np.asarray(sorted({int(i) for i in entry_ids}), np.int64)
    order: list[int] = []
    with Library.open(source) as lib:
        compounds = lib.compounds()
        create(out, name=f"{Path(source).stem}-subset", catalog=[
            {k: v for k, v in c.items() if k != "id"} for c in compounds])
        with edit(out) as w:
            for tech in lib.techniques():
                cols = lib.entry_columns(tech)
                rows = np.flatnonzero(np.isin(cols["entry_id"], wanted))
                if not rows.size:
                    continue
                pos, inten, off = lib.peaks(tech)
                parts = [(pos[off[r]:off[r + 1]], inten[off[r]:off[r + 1]]) for r in rows]
                offsets = np.concatenate([[0], np.cumsum([p.size for p, _ in parts])])
                columns = {}
                for col, spec in S.ENTRY_COLUMNS.items():
                    if col == "entry_id":
                        continue
                    values = cols[col][rows]
                    columns[col] = [lib.strings.get(v) for v in values] if spec is str \
                        else values
                w.add_entries(tech, np.concatenate([p for p, _ in parts]),
                              np.concatenate([i for _, i in parts]), offsets, columns)
                order += cols["entry_id"][rows].tolist()
            w.log("subset", detail={"source": str(source), "entries": len(order)})
    with Library.open(out) as sub:
        ids = [int(i) for t in sub.techniques() for i in sub.entry_columns(t)["entry_id"]]
    return dict(zip(ids, order, strict=True))
