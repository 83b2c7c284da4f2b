"""``fentid rescreen``: the archived components against a newer library, on Dask.

Delta mode (the default once the archive knows the library version it was screened with)
searches only the entries added or changed since that version
(:func:`fentid.reference_library.changes.changes_since`), split into library shards (small
library files of those entries), against every archived component: tasks are archive
partition groups x shards, and cost new entries x components.  The cases where a new entry
could change a conclusion (:func:`fentid.archive.tasks.scan`) are then concluded again with
the whole library, exactly as ``fentid identify`` concludes (search, rules, case rules).
Full mode (``--full``) concludes every case again against the whole library; there the
library is not sharded (each task searches whole, memory-mapped by every worker, because the
conclusion needs the whole ranked hit list).

The work runs on ``dask.distributed``: a ``LocalCluster`` of ``workers`` processes, or an
existing scheduler (``tcp://host:8786``; the archive and library paths must then be readable
by every worker).  A worker that dies has its tasks rerun elsewhere (Dask reschedules them;
tasks only read), so the result is complete; the driver alone writes the archive: the
changed conclusions (an update partition) and the screening record.  ``serial=True`` runs
the same tasks in this process, one after the other (the baseline a Dask run must equal).
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from fentid.archive import tasks
from fentid.archive.store import MANIFEST, Archive, now_iso
from fentid.errors import ArchiveError, ConfigError

#: Library entries per shard in delta mode.
SHARD_ENTRIES = 500
#: Components per task (partitions are grouped up to about this many).
TASK_COMPONENTS = 20_000

Progress = Callable[[int, int, str], None]


def rescreen(archive, library=None, *, full: bool = False, since_version: int | None = None,
             entries=None, workers: int = 2, scheduler: str | None = None, client=None,
             serial: bool = False, progress: Progress | None = None, record: bool = True,
             shard_entries: int = SHARD_ENTRIES,
             task_components: int = TASK_COMPONENTS) -> dict:
    """Re-screen a case archive; returns the ``fentid rescreen --json`` result.

    Parameters
    ----------
    archive : path-like
        The archive folder (``fentid identify --archive``, the watch service's setting).
    library : path-like, optional
        The newer library (default as for ``fentid identify``).
    full : bool
        Every component against the whole library.
    since_version : int, optional
        Delta since this library version (default: the version the archive was screened
        with, per partition: the oldest of them).
    entries : iterable of int, optional
        Delta of these entry ids only.
    workers : int
        LocalCluster worker processes (one thread each).
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler.
    client : dask.distributed.Client, optional
        An existing client (tests, notebooks); not closed here.
    serial : bool
        No Dask: the same tasks one after the other in this process.
    progress : callable, optional
        ``progress(done, total, what)`` after each task.
    record : bool
        Record the screening (and the changed conclusions) in the archive.

    Returns
    -------
    dict
        ``library`` {path, library_version, checksum}, ``screened_against`` [old, new],
        ``mode``, ``n_components``, ``changes`` (sorted), ``problems`` [{file, reason}].
    """
    from fentid.pipeline import open_library

    folder = Path(archive)
    if not (folder / MANIFEST).is_file():
        raise ArchiveError("not a case archive (no manifest.json)", folder)
    arch = Archive(folder)
    with open_library(library) as searcher:
        info = {"path": os.path.abspath(searcher.path),
                "library_version": searcher.library_version, "checksum": searcher.checksum}
        plan = _plan(arch, searcher, full, since_version, entries, task_components, workers)
        work = _Work(serial, client, scheduler, workers)
        try:
            result = _run(arch, searcher, info, plan, work, progress, shard_entries)
        finally:
            work.close()
    if record:
        covered = sorted(Path(f).name for f in result.pop("_covered"))
        arch.record_screening({"library": info, "mode": result["mode"],
                               "screened_against": result["screened_against"], "at": now_iso(),
                               "partitions": covered, "n_components": result["n_components"],
                               "n_changes": len(result["changes"])}, result.pop("_updates"))
    result.pop("_covered", None)
    result.pop("_updates", None)
    return result


# --- planning -----------------------------------------------------------------------------

def _plan(arch: Archive, searcher, full, since_version, entries, task_components,
          workers) -> dict:
    """Partition groups, their row counts and screened versions, and the mode."""
    files, problems, counts, versions = [], [], {}, {}
    covered_by = _coverage(arch)
    for path in arch.partitions():
        try:
            n, low = _partition_facts(path)
        except ArchiveError as exc:
            problems.append({"file": str(path), "reason": exc.message})
            continue
        files.append(str(path))
        counts[str(path)] = n
        versions[str(path)] = max(low, covered_by.get(path.name, low))
    new = searcher.library_version
    if full:
        mode, old = "full", min(versions.values(), default=new)
    elif entries is not None:
        mode, old = "delta", min(versions.values(), default=new)
    elif since_version is not None:
        mode, old = "delta", int(since_version)
    else:
        mode, old = "delta", min(versions.values(), default=new)
    if since_version is not None and old > new:
        raise ArchiveError(f"--since-version {old} is newer than this library (version {new})",
                           searcher.path)
    if mode == "delta" and old > new and entries is None:
        raise ArchiveError(f"the archive was screened with library version {old}, newer "
                           f"than this library's ({new}): give the library it was screened "
                           "with, or --full", arch.folder)
    total = sum(counts.values())
    per_task = max(1, min(task_components, math.ceil(total / max(1, 4 * workers))))
    return {"mode": mode, "old": old, "new": new, "groups": _groups(files, counts, per_task),
            "problems": problems, "counts": counts, "entries": entries}


def _coverage(arch: Archive) -> dict[str, int]:
    """Partition name -> newest library version a recorded screening covered it with."""
    out: dict[str, int] = {}
    for s in arch.screenings():
        version = int(s["library"]["library_version"])
        for name in s.get("partitions", ()):
            out[name] = max(out.get(name, version), version)
    return out


def _partition_facts(path: Path) -> tuple[int, int]:
    """(rows, oldest library version) of a partition from its Parquet footer."""
    from fentid.archive.store import _pa

    _, pq = _pa()
    try:
        meta = pq.read_metadata(path)
        col = meta.schema.names.index("library_version")
        lows = [meta.row_group(i).column(col).statistics.min
                for i in range(meta.num_row_groups)]
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad bytes
        reason = " ".join(str(exc).split())[:200]
        raise ArchiveError(f"corrupt archive partition (not readable as Parquet: {reason})",
                           path) from None
    return meta.num_rows, int(min(lows)) if lows else 0


def _groups(files: list[str], counts: dict, per_task: int) -> list[list[str]]:
    groups, cur, n = [], [], 0
    for f in files:
        cur.append(f)
        n += counts[f]
        if n >= per_task:
            groups.append(cur)
            cur, n = [], 0
    if cur:
        groups.append(cur)
    return groups


def _delta(searcher, plan: dict) -> dict:
    """Entry ids a delta search covers, and what the candidate test needs to know of them."""
    from fentid.reference_library.changes import changes_since

    lib = searcher.library
    if plan["entries"] is not None:
        ids = sorted({int(i) for i in plan["entries"]})
        for i in ids:
            lib.locate(i)  # LibraryError naming the missing entry
        changed = ids
    else:
        ch = changes_since(lib, plan["old"])
        ids, changed = ch["live"], ch["changed"]
    names, groups, formulas = set(), set(), set()
    for i in ids:
        e = lib.entry(i)
        if e["retired"]:
            continue
        comp = lib.compound_row(e["compound_id"])
        names.add(comp["name"].lower())
        if comp.get("isomer_group"):
            groups.add(comp["isomer_group"])
        if comp.get("formula"):
            formulas.add(comp["formula"])
    related = set(names)
    for comp in lib.compounds():
        if (comp.get("isomer_group") and comp["isomer_group"] in groups) or \
                (comp.get("formula") and comp["formula"] in formulas):
            related.add(comp["name"].lower())
    groups |= {f"structural isomers {f}" for f in formulas}
    live = [i for i in ids if not lib.entry(i)["retired"]]
    return {"ids": live, "changed": set(changed), "names": names, "groups": groups,
            "related": related}


# --- running ------------------------------------------------------------------------------

def local_cluster(workers: int):
    """A ``dask.distributed.LocalCluster`` of ``workers`` processes, one thread each.

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also turns off
    glibc's adaptive mmap threshold: every numpy temporary above 128 kB is then mapped and
    unmapped anew, and the search ran 2.5 times slower in a worker than in this process
    (measured with the NIST scan).  Workers here get Dask's other settings without it;
    on an existing cluster, start the workers without it too (see the README).
    """
    import logging

    import dask
    from dask.distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


class _Work:
    """Where tasks run: this process (serial) or a Dask client."""

    def __init__(self, serial: bool, client, scheduler, workers: int):
        self.serial, self.client, self.cluster, self.own = serial, client, None, False
        if serial or client is not None:
            return
        try:
            from dask.distributed import Client
        except ImportError:
            raise ConfigError("fentid rescreen needs Dask: pip install 'fentid[distributed]'"
                              ) from None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=30)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot reach the Dask scheduler {scheduler}: {exc}"
                                  ) from None
        else:
            if workers < 1:
                raise ConfigError(f"--workers must be at least 1, not {workers}")
            self.cluster = local_cluster(workers)
            self.client = Client(self.cluster)
        self.own = True

    def map(self, fn, calls: list[tuple], shared: dict, progress, what: str) -> list:
        """Run ``fn(*call[:k], **shared-by-name...)`` for each call; results in call order."""
        results: list = [None] * len(calls)
        if self.serial:
            for k, call in enumerate(calls):
                results[k] = fn(*call, **shared)
                if progress:
                    progress(k + 1, len(calls), what)
            return results
        from dask.distributed import as_completed

        # big shared values go to every worker once (a list: a dict would be split by key)
        scattered = {k: self.client.scatter([v], broadcast=True, hash=False)[0]
                     if isinstance(v, dict)
                     else v for k, v in shared.items()}
        futures = [self.client.submit(fn, *call, **scattered, pure=False) for call in calls]
        index = {f.key: k for k, f in enumerate(futures)}
        for done, fut in enumerate(as_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            if progress:
                progress(done, len(calls), what)
        return results

    def close(self) -> None:
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close()
            if self.cluster is not None:
                with contextlib.suppress(Exception):
                    self.cluster.close()


def _run(arch: Archive, searcher, info: dict, plan: dict, work: _Work, progress,
         shard_entries: int) -> dict:
    updates = arch.updates()
    lib_path = info["path"]
    problems = list(plan["problems"])
    groups = plan["groups"]
    result = {"library": info, "screened_against": [plan["old"], plan["new"]],
              "mode": plan["mode"], "n_components": 0, "changes": [], "problems": problems}
    if plan["mode"] == "full":
        outs = work.map(_conclude_call, [(g, None) for g in groups],
                        {"updates": updates, "library_path": lib_path, "library": info},
                        progress, "re-screening (full)")
        return _merge(result, outs)
    delta = _delta(searcher, plan)
    if not delta["ids"] and not delta["changed"]:
        result["n_components"] = sum(plan["counts"].values())
        result["_covered"] = [f for g in groups for f in g]
        result["_updates"] = None
        return result
    shard_dir = arch.folder / f".shards-{secrets.token_hex(4)}"
    shard_dir.mkdir()
    try:
        shards = _write_shards(lib_path, delta["ids"], shard_dir, shard_entries)
        shared = {"updates": updates, "library_path": lib_path}
        calls = [(g, s, {k: delta[k] for k in ("changed", "names", "groups", "related")})
                 for g in groups for s in shards]
        scans = work.map(_scan_call, calls, shared, progress, "scanning new entries")
        candidates: dict[str, set] = {}
        bad = {p["file"] for out in scans for p in out["problems"]}
        for out in scans:
            for f, cases in out["candidates"].items():
                candidates.setdefault(f, set()).update(cases)
        problems.extend(_unique_problems(scans))
        n = sum(plan["counts"][f] for g in groups for f in g if f not in bad)
        todo = [[f for f in g if f in candidates] for g in groups]
        todo = [g for g in todo if g]
        outs = work.map(_conclude_call, [(g, {f: sorted(candidates[f]) for f in g})
                                         for g in todo],
                        {"updates": updates, "library_path": lib_path, "library": info},
                        progress, "re-concluding")
    finally:
        shutil.rmtree(shard_dir, ignore_errors=True)
    merged = _merge(result, outs)
    merged["n_components"] = n
    merged["_covered"] = [f for g in groups for f in g if f not in bad]
    return merged


def _scan_call(files, shard, delta, updates, library_path):
    return tasks.scan(files, updates, library_path, shard, delta)


def _conclude_call(files, cases, updates, library_path, library):
    return tasks.conclude(files, updates, library_path, library, cases)


def _unique_problems(outs: list[dict]) -> list[dict]:
    seen, out = set(), []
    for o in outs:
        for p in o["problems"]:
            if p["file"] not in seen:
                seen.add(p["file"])
                out.append(p)
    return out


def _write_shards(lib_path: str, ids: list[int], folder: Path, per_shard: int) -> list[str]:
    """Library files of at most ``per_shard`` of ``ids`` each."""
    from fentid.reference_library.changes import write_subset

    shards = []
    for k in range(0, len(ids), max(1, per_shard)):
        out = folder / f"shard-{k // per_shard:04d}.h5"
        write_subset(lib_path, ids[k:k + per_shard], out)
        shards.append(str(out))
    if not shards:  # only retirements: an empty shard still runs the changed-hits test
        out = folder / "shard-0000.h5"
        write_subset(lib_path, [], out)
        shards.append(str(out))
    return shards


def _merge(result: dict, outs: list[dict]) -> dict:
    from fentid.archive.store import UPDATE_FIELDS

    updates = {k: [] for k in UPDATE_FIELDS if k != "screening"}
    covered = []
    for out in outs:
        result["n_components"] += out["n"]
        result["changes"] += out["changes"]
        for k in updates:
            updates[k] += out["updates"][k]
        covered += out["files"]
    result["problems"] = _unique_problems([{"problems": result["problems"]}, *outs])
    for c in result["changes"]:
        rt = c["retention_time_s"]
        c["retention_time_s"] = None if rt is None else round(float(rt), 3)
    result["changes"].sort(key=sort_key)
    result["problems"].sort(key=lambda p: p["file"])
    result["_covered"] = covered
    result["_updates"] = updates
    return result


def sort_key(change: dict) -> tuple:
    """Changes in a fixed order: sample, sha256, retention time, component name."""
    rt = change["retention_time_s"]
    return (change["sample"], change["sha256"], -1.0 if rt is None else rt,
            change["component"])


def format_text(result: dict) -> str:
    """Human-readable ``fentid rescreen`` output."""
    lib = result["library"]
    old, new = result["screened_against"]
    head = (f"Library: {lib['path']}, version {lib['library_version']}, checksum "
            f"{lib['checksum'][:16]}")
    summary = (f"Re-screened {result['n_components']} archived components ({result['mode']}, "
               f"library version {old} -> {new}): {len(result['changes'])} conclusion(s) "
               "changed")
    lines = [head, summary]
    for c in result["changes"]:
        rt = "" if c["retention_time_s"] is None or " @ " in c["component"] \
            else f" at {c['retention_time_s']:.2f} s"
        was, now = c["old"], c["new"]
        same = all(was.get(k) == now.get(k) for k in ("status", "compound", "isomer_group"))
        what = [k for k in ("reason", "candidates", "limitations", "stereo_isomers", "rule",
                            "record_name") if was.get(k) != now.get(k)]
        lines.append(f"  {c['sample']}: {c['component']}{rt}: {was['status']} "
                     f"{was.get('compound') or ''} -> {now['status']} "
                     f"{now.get('isomer_group') or now.get('compound') or ''}".rstrip()
                     + (f" ({', '.join(what)} changed)" if same and what else ""))
    return "\n".join(lines) + "\n"

