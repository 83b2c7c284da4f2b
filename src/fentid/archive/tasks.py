"""The work inside one re-screening task: archived components in, search and conclusion out.

Tasks run in Dask worker processes (or in-process for a serial run) and only read: the
partitions, the library and the library shards; the driver (:mod:`fentid.archive.rescreen`)
writes the archive.  Each task searches through the public API (:class:`fentid.LibrarySearcher`
and :func:`fentid.pipeline.identify_component`, the loop body of ``fentid identify``), so a
re-screened component gets exactly the search and conclusion ``fentid identify`` would give
it today.  A partition that cannot be read is returned as a problem naming its file; the
task goes on with the others.
"""

from __future__ import annotations

import json
import os
import threading
import warnings

from fentid.errors import FentidError

#: Hits kept per component (``fentid identify``'s default ``--top``).
TOP = 10

_OPEN: dict = {}
_OPEN_LOCK = threading.Lock()


def open_searcher(path: str):
    """A :class:`~fentid.LibrarySearcher` for ``path``, opened once per worker process (and
    again when the file is replaced: its identity is part of the key)."""
    from fentid import LibrarySearcher

    st = os.stat(path)
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
    with _OPEN_LOCK:
        if key not in _OPEN:
            for old in [k for k in _OPEN if k[0] == path]:
                _OPEN.pop(old).close()
            _OPEN[key] = LibrarySearcher(path)
        return _OPEN[key]


class SpectrumFacts:
    """What a search reads of a processed spectrum: its metadata (NMR solvent, field,
    referencing).  The archive keeps those facts, not the spectrum's points."""

    __slots__ = ("metadata",)

    def __init__(self, metadata: dict):
        self.metadata = metadata


def component_of(row: dict):
    """The archived component as a :class:`fentid.pipeline.Component` (its peak list exactly
    as it was searched)."""
    from fentid.components import Component
    from fentid.spectra.model import PeakList

    peaks = PeakList(row["position"], row["intensity"], unit=row["unit"],
                     technique=row["peak_technique"], nucleus=row["nucleus"] or None,
                     metadata=json.loads(row["peak_metadata"] or "{}"))
    spectrum = SpectrumFacts(json.loads(row["spectrum_metadata"])) \
        if row["spectrum_metadata"] else None
    return Component(name=row["component"], peaks=peaks,
                     retention_time_s=row["retention_time_s"], area=row["area"],
                     spectrum=spectrum, start_s=row["start_s"], stop_s=row["stop_s"])


def current_rows(path: str, updates: dict) -> list[dict]:
    """The partition's components, each with its newest conclusion (an update, if any)."""
    from fentid.archive.store import read_table

    rows = read_table(path).to_pylist()
    for row in rows:
        upd = updates.get(row["uid"])
        if upd is not None:
            row.update({k: upd[k] for k in ("status", "compound", "conclusion", "hits",
                                            "best_score", "library_path", "library_version",
                                            "library_checksum")})
    return rows


def _readable_partitions(files: list[str], updates: dict, out: dict):
    """Yield ``(path, rows)`` for each readable partition of ``files``; an unreadable one is
    recorded in ``out["problems"]`` (the rest go on), read ones in ``out["files"]`` and
    their component count in ``out["n"]``."""
    for path in files:
        try:
            rows = current_rows(path, updates)
        except FentidError as exc:
            out["problems"].append({"file": path, "reason": exc.message})
            continue
        out["files"].append(path)
        out["n"] += len(rows)
        yield path, rows


def _cases(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["case_id"], []).append(row)
    return out


# --- delta: which archived cases could a few new entries change? -----------------------------

def scan(files: list[str], updates: dict, library_path: str, shard_path: str,
         delta: dict) -> dict:
    """Search the shard's entries (new or changed ones) against every component of ``files``.

    A case is a candidate for re-conclusion when one of its components (a) gets a shard
    entry scoring within :func:`margin` of its archived best score, (b) had a changed
    (retired, reassigned) entry among its archived hits, (c) has a conclusion naming, or
    hits of, a compound that shares an isomer group with a shard compound, or (d) was
    concluded without references of its technique that the shard now has.

    Returns
    -------
    dict
        ``n`` (components read), ``candidates`` ({file: [case ids]}), ``problems``
        ([{"file", "reason"}]), ``files`` (read).
    """
    full = open_searcher(library_path)
    shard = open_searcher(shard_path)
    out = {"n": 0, "candidates": {}, "problems": [], "files": []}
    for path, rows in _readable_partitions(files, updates, out):
        hit_cases = sorted({row["case_id"] for row in rows
                            if _is_candidate(row, full, shard, delta)})
        if hit_cases:
            out["candidates"][path] = hit_cases
    return out


def margin(algorithm: str, technique: str) -> float:
    """Score distance below the archived best within which a new entry may change the
    conclusion: the rules compare hits with the best by the replicate spread and the
    clear-tier margin (policy), so twice the larger of the two is safely outside."""
    from fentid.conclude import policy_for

    p = policy_for(algorithm, technique)
    return 2.0 * max(p.replicate_spread, p.clear_margin)


def _is_candidate(row: dict, full, shard, delta: dict) -> bool:
    old_hits = json.loads(row["hits"])
    if delta["changed"] and any(h["entry_id"] in delta["changed"] for h in old_hits):
        return True
    old = json.loads(row["conclusion"])
    named = {(old.get("compound") or "").lower(), *(c.lower() for c in old["candidates"]),
             *(c.lower() for c in old["stereo_isomers"])}
    named |= {(h.get("compound") or "").lower() for h in old_hits}
    if named & delta["related"] or (old.get("isomer_group") or "") in delta["groups"]:
        return True
    text = " ".join(old["limitations"]).lower()
    if any(name in text for name in delta["names"]):
        return True
    comp = component_of(row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported when the component was first identified
        technique, algorithm, _ = full.plan(comp, row["algorithm"])
        shard_technique, _, _ = shard.plan(comp, row["algorithm"])
        if shard_technique != technique:  # cross-level choices differ: decide in full
            return shard.has(technique) or shard.has(shard_technique)
        if not shard.has(technique):
            return False
        if old.get("rule") in ("no_reference_spectra", "cross_level_comparison"):
            return True
        # hits come best first: the shard's best entry is all the test needs
        _, _, hits = shard.search(comp, row["algorithm"], top=1)
    if not hits:
        return False
    best_old = float(old_hits[0]["score"]) if old_hits else 0.0
    return float(hits[0]["score"]) >= best_old - margin(algorithm, technique)


# --- conclude: the exact search and conclusion of whole cases ---------------------------------

def conclude(files: list[str], updates: dict, library_path: str, library: dict,
             cases: dict | None = None) -> dict:
    """Search and conclude every component of the given cases against the whole library,
    with the case rules, and compare with the archived conclusions.

    Parameters
    ----------
    files : list of str
        Partitions.
    updates : dict
        uid -> newest update row (:meth:`Archive.updates`).
    library_path : str
        The library (absolute path, readable by every worker).
    library : dict
        ``path, library_version, checksum`` of it, for the update rows.
    cases : dict, optional
        {file: [case ids]} to re-conclude (delta mode); None: every case (full mode).

    Returns
    -------
    dict
        ``n``, ``changes`` (the JSON shape of ``fentid rescreen``), ``updates`` (rows for
        components whose conclusion or hits changed), ``problems``, ``files``.
    """
    from fentid.archive.store import UPDATE_FIELDS, now_iso
    from fentid.conclude import one_retention_time_per_compound
    from fentid.pipeline import _apply_case_rules, identify_component
    from fentid.searching import public_hits

    searcher = open_searcher(library_path)
    out = {"n": 0, "changes": [], "problems": [], "files": [],
           "updates": {k: [] for k in UPDATE_FIELDS if k != "screening"}}
    stamp = now_iso()
    for path, rows in _readable_partitions(files, updates, out):
        wanted = None if cases is None else set(cases.get(path, ()))
        for case_id, case_rows in _cases(rows).items():
            if wanted is not None and case_id not in wanted:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reports = [identify_component(searcher, component_of(r), r["sample"],
                                              r["algorithm"], TOP) for r in case_rows]
            _apply_case_rules(reports, one_retention_time_per_compound)
            for row, rep in zip(case_rows, reports, strict=True):
                new = json.loads(json.dumps(rep.conclusion.to_dict()))
                hits = json.loads(json.dumps(public_hits(rep.hits), default=_plain))
                old = json.loads(row["conclusion"])
                if new != old:
                    out["changes"].append({
                        "sample": row["sample"], "sha256": row["sha256"],
                        "component": row["component"],
                        "retention_time_s": row["retention_time_s"], "old": old, "new": new,
                        "hits": hits})
                if new != old or hits != json.loads(row["hits"]):
                    values = {"uid": row["uid"], "status": new["status"],
                              "compound": new.get("compound") or "",
                              "conclusion": json.dumps(new, sort_keys=True),
                              "hits": json.dumps(hits, sort_keys=True),
                              "best_score": float(hits[0]["score"]) if hits else 0.0,
                              "library_path": library["path"],
                              "library_version": int(library["library_version"]),
                              "library_checksum": library["checksum"], "screened_at": stamp}
                    for k, v in values.items():
                        out["updates"][k].append(v)
    return out


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "items"):
        return dict(value.items())
    return str(value)
