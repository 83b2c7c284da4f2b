"""The case archive on disk: append-only Parquet partitions and a JSON manifest.

Layout::

    ARCHIVE/
      manifest.json                    format tag, schema version, the screenings record
      partitions/part-<ns>-<pid>-<rand>.parquet   one per archived case (``Archive.add``)
                                       or per bulk write (``Archive.add_rows``)
      updates/upd-<screening>-<rand>.parquet      conclusions a re-screening changed
      .archive.lock                    one writer of the manifest at a time

Why Parquet (pyarrow): columnar, compressed, typed, self-describing, read by Dask, pandas,
DuckDB and Spark without fentid; a partition is one immutable file, so "append-only" means
"add files, never rewrite one".  Each partition is written to a temporary file in the same
folder, flushed, fsync'ed, renamed into place (``os.replace``, atomic within a volume) and
the folder is fsync'ed: a crash leaves no partition or a whole one, never half of one
(temporary files are named ``.tmp-*`` and never read).

One row per component (columns in :data:`COMPONENT_FIELDS`): the processed peak list
(position in m/z or ppm, intensity, float64 lists, exactly what was searched), the technique
and score the component was searched with, its retention time (s), the sample's path and
sha256, the conclusion (JSON) and hits (JSON, as ``fentid identify --json`` shows them), and
the library path, version and checksum it was concluded with.  Re-screening does not touch
partitions: changed conclusions go to ``updates/`` (the newest update of a component wins)
and the manifest's ``screenings`` list records each screening (library, version, checksum,
the partitions it covered), which is the "versions record".
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import secrets
import sys
import time
from pathlib import Path

from fentid.errors import ArchiveError
from fentid.fsutil import fsync_folder

FORMAT_TAG = "fentid case archive"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
PARTITIONS = "partitions"
UPDATES = "updates"
LOCK = ".archive.lock"
TMP_PREFIX = ".tmp-"

#: Component columns: name -> pyarrow type name (see :func:`component_schema`).
COMPONENT_FIELDS = {
    "case_id": "string",          # one archived case (one add() call)
    "uid": "string",              # case_id/component index: the component's identity
    "sample": "string",           # sample path as reported
    "sha256": "string",           # sample sha256 (a folder: of its sorted manifest)
    "component": "string",        # component name
    "component_index": "int32",   # position among the sample's components
    "retention_time_s": "float64",
    "start_s": "float64",
    "stop_s": "float64",
    "area": "float64",
    "technique": "string",        # library technique searched: ei, ms1, msms, nmr_1h...
    "algorithm": "string",        # score used: identity, entropy, nmr...
    "peak_technique": "string",   # ms or nmr
    "unit": "string",             # m/z or ppm
    "nucleus": "string",
    "position": "list<float64>",  # processed peak positions, ascending (m/z or ppm)
    "intensity": "list<float64>",
    "peak_metadata": "string",    # JSON: scalar peak-list metadata (ionization, precursor...)
    "spectrum_metadata": "string",  # JSON or empty: scalar processed-spectrum metadata (NMR)
    "status": "string",
    "compound": "string",
    "conclusion": "string",       # JSON: the report's conclusion
    "hits": "string",             # JSON: the report's hits
    "best_score": "float64",
    "library_path": "string",
    "library_version": "int64",
    "library_checksum": "string",
    "fentid_version": "string",
    "archived_at": "string",      # UTC ISO 8601
}
#: Update columns (a re-screening's changed conclusions).
UPDATE_FIELDS = {
    "uid": "string", "status": "string", "compound": "string", "conclusion": "string",
    "hits": "string", "best_score": "float64", "library_path": "string",
    "library_version": "int64", "library_checksum": "string", "screening": "int64",
    "screened_at": "string",
}


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ArchiveError("the case archive needs pyarrow: pip install 'fentid[distributed]'"
                           ) from None
    return pa, pq


def _schema(fields: dict):
    pa, _ = _pa()
    types = {"string": pa.string(), "int32": pa.int32(), "int64": pa.int64(),
             "float64": pa.float64(), "list<float64>": pa.list_(pa.float64())}
    return pa.schema([(name, types[t]) for name, t in fields.items()])


def component_schema():
    """The pyarrow schema of a partition."""
    return _schema(COMPONENT_FIELDS)


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def atomic_write(path: Path, write) -> None:
    """``write(fh)`` into a temporary file beside ``path``, fsync, rename, fsync the folder."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(path.parent)


class _Lock:
    """An exclusive lock on ``ARCHIVE/.archive.lock`` (flock; msvcrt on Windows), released
    by the kernel when the process dies."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def __enter__(self):
        self.fh = open(self.path, "a+b")
        if sys.platform == "win32":
            import msvcrt

            self.fh.seek(0)
            while True:
                try:
                    msvcrt.locking(self.fh.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
        else:
            import fcntl

            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.fh.close()  # closing releases the lock


def _metadata_json(meta) -> str:
    """Scalar metadata entries, and short number sequences, as JSON (nested vendor
    parameters are not search input)."""
    if meta is None:
        return ""
    out = {}
    for key, value in dict(meta).items():
        value = _scalar(value)
        if value is not _SKIP:
            out[str(key)] = value
        elif isinstance(value := meta[key], list | tuple) and value:
            # short sequences of numbers (scan_range_mz): match evidence reads them
            items = [_scalar(v) for v in value]
            if len(items) <= 16 and all(v is not _SKIP for v in items):
                out[str(key)] = items
    return json.dumps(out, sort_keys=True)


_SKIP = object()


def _scalar(value):
    """A JSON scalar for ``value`` (numpy scalars unwrapped, non-finite floats as null), or
    ``_SKIP`` for anything else."""
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()  # numpy scalar
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return _SKIP


def _float_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Archive:
    """A case archive folder, opened for appending and reading.

    Parameters
    ----------
    folder : path-like
        Created (with its manifest) when it does not exist.

    Raises
    ------
    ArchiveError
        The folder holds something else than a fentid archive, or a newer schema.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        _pa()  # no pyarrow: say so now, not after the first report
        try:
            (self.folder / PARTITIONS).mkdir(parents=True, exist_ok=True)
            (self.folder / UPDATES).mkdir(exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create the archive: {exc.strerror or exc}",
                               self.folder) from None
        with _Lock(self.folder / LOCK):
            if not (self.folder / MANIFEST).exists():
                self._write_manifest({"format": FORMAT_TAG, "schema_version": SCHEMA_VERSION,
                                      "created": now_iso(), "screenings": []})
        self.manifest()  # checks the tag and version

    # --- manifest -----------------------------------------------------------------------
    def manifest(self) -> dict:
        path = self.folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"unreadable archive manifest: {exc}", path) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
            raise ArchiveError("not a fentid case archive manifest", path)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ArchiveError(f"archive schema version {data.get('schema_version')} is not "
                               f"the one this fentid reads ({SCHEMA_VERSION})", path)
        return data

    def _write_manifest(self, data: dict) -> None:
        text = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
        atomic_write(self.folder / MANIFEST, lambda fh: fh.write(text))

    def screenings(self) -> list[dict]:
        """The screenings record, oldest first."""
        return list(self.manifest()["screenings"])

    # --- writing ------------------------------------------------------------------------
    def add(self, report, path: str | os.PathLike | None = None) -> Path | None:
        """Archive every component of one case report (one new partition).

        Parameters
        ----------
        report : CaseReport or dict
            ``fentid.identify(...)`` (its components carry their peak lists), or its
            ``to_dict()`` (the watch-folder service's hook): the JSON report has no peak
            lists, so the samples are read again from ``path`` (or the report's sample
            paths) and their sha256 must equal the report's.
        path : path-like, optional
            The acquisition the dict report is about.

        Returns
        -------
        Path or None
            The partition written (None when the report has no component).
        """
        rows = report_rows(report, path)
        return self.add_rows(rows) if rows["uid"] else None

    def add_rows(self, columns: dict) -> Path:
        """Write one partition from component columns (:data:`COMPONENT_FIELDS`)."""
        pa, pq = _pa()
        table = pa.Table.from_pydict({k: columns[k] for k in COMPONENT_FIELDS},
                                     schema=component_schema())
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.parquet"
        target = self.folder / PARTITIONS / name
        atomic_write(target, lambda fh: pq.write_table(table, fh, compression="zstd"))
        return target

    def record_screening(self, record: dict, updates: dict | None) -> dict:
        """Append a screening to the manifest, with its changed conclusions as an update
        partition (written first: a crash before the manifest leaves an unlisted update
        file, which is ignored)."""
        pa, pq = _pa()
        with _Lock(self.folder / LOCK):
            data = self.manifest()
            number = len(data["screenings"]) + 1
            record = dict(record, screening=number)
            if updates and updates["uid"]:
                upd = dict(updates, screening=[number] * len(updates["uid"]))
                table = pa.Table.from_pydict({k: upd[k] for k in UPDATE_FIELDS},
                                             schema=_schema(UPDATE_FIELDS))
                name = f"upd-{number:06d}-{secrets.token_hex(4)}.parquet"
                atomic_write(self.folder / UPDATES / name,
                             lambda fh: pq.write_table(table, fh, compression="zstd"))
                record["update_file"] = name
            data["screenings"].append(record)
            self._write_manifest(data)
        return record

    # --- reading ------------------------------------------------------------------------
    def partitions(self) -> list[Path]:
        """Every partition file, oldest first (temporary files are never listed)."""
        return sorted(p for p in (self.folder / PARTITIONS).glob("part-*.parquet"))

    def updates(self) -> dict[str, dict]:
        """The newest update of each updated component (uid -> update row)."""
        out: dict[str, dict] = {}
        listed = [s["update_file"] for s in self.screenings() if s.get("update_file")]
        for name in listed:  # manifest order = screening order
            table = read_table(self.folder / UPDATES / name, UPDATE_FIELDS)
            for row in table.to_pylist():
                out[row["uid"]] = row
        return out


def read_table(path: Path, fields: dict = COMPONENT_FIELDS, columns=None):
    """Read one partition; a damaged or foreign file raises one clear error naming it.

    Raises
    ------
    ArchiveError
        Not a readable Parquet file, or missing columns.
    """
    _, pq = _pa()
    try:
        table = pq.read_table(path, columns=columns)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad bytes
        reason = " ".join(str(exc).split())[:200]
        raise ArchiveError(f"corrupt archive partition (not readable as Parquet: {reason})",
                           path) from None
    missing = [c for c in (columns or fields) if c not in table.column_names]
    if missing:
        raise ArchiveError(f"archive partition lacks column(s) {', '.join(missing)}", path)
    return table


def open_archive(folder: str | os.PathLike) -> Archive:
    """The archive in ``folder`` (created when missing), for ``add(report, path)``."""
    return Archive(folder)


# --- report -> rows -------------------------------------------------------------------------

def report_rows(report, path=None) -> dict:
    """Component columns of one case report (CaseReport, or its dict plus the sample path)."""
    import uuid

    if isinstance(report, dict):
        report_dict = report
        components = _components_for_dict(report, path)
    else:
        report_dict = report.to_dict()
        components = [c.component for c in report.components]
    case_id = uuid.uuid4().hex
    lib = report_dict["library"]
    sha = {s["path"]: s["sha256"] for s in report_dict["samples"]}
    cols: dict[str, list] = {k: [] for k in COMPONENT_FIELDS}
    index_in_sample: dict[str, int] = {}
    stamp = now_iso()
    for rc, comp in zip(report_dict["components"], components, strict=True):
        k = index_in_sample.get(rc["sample"], 0)
        index_in_sample[rc["sample"]] = k + 1
        peaks = comp.peaks
        hits = rc["hits"]
        values = {
            "case_id": case_id, "uid": f"{case_id}/{len(cols['uid'])}",
            "sample": rc["sample"], "sha256": sha.get(rc["sample"], ""),
            "component": rc["name"], "component_index": k,
            "retention_time_s": _float_or_none(comp.retention_time_s),
            "start_s": _float_or_none(comp.start_s), "stop_s": _float_or_none(comp.stop_s),
            "area": _float_or_none(comp.area), "technique": rc["technique"],
            "algorithm": rc["algorithm"], "peak_technique": peaks.technique,
            "unit": peaks.unit, "nucleus": peaks.nucleus or "",
            "position": peaks.position.tolist(), "intensity": peaks.intensity.tolist(),
            "peak_metadata": _metadata_json(peaks.metadata),
            "spectrum_metadata": _metadata_json(comp.spectrum.metadata)
            if comp.spectrum is not None else "",
            "status": rc["conclusion"]["status"], "compound": rc["conclusion"].get("compound")
            or "", "conclusion": json.dumps(rc["conclusion"], sort_keys=True),
            "hits": json.dumps(hits, sort_keys=True),
            "best_score": float(hits[0]["score"]) if hits else 0.0,
            "library_path": lib["path"], "library_version": int(lib["library_version"]),
            "library_checksum": lib["checksum"],
            "fentid_version": report_dict.get("fentid_version", ""), "archived_at": stamp}
        for key, value in values.items():
            cols[key].append(value)
    return cols


def _components_for_dict(report: dict, path) -> list:
    """The components of a dict report, re-derived from its samples (the JSON report has no
    peak lists); the samples must still be the bytes the report names."""
    from fentid.components import component_read_options, components_of
    from fentid.drivers import read

    paths = [s["path"] for s in report["samples"]]
    if path is not None and len(paths) == 1:
        paths = [str(path)]
    out = []
    for sample, p in zip(report["samples"], paths, strict=True):
        ds = read(p, **component_read_options(p))
        if ds.sha256 != sample["sha256"]:
            raise ArchiveError("changed since it was reported (sha256 differs): not archived",
                               p)
        out.extend(components_of(ds))
    names = [c["name"] for c in report["components"]]
    if [c.name for c in out] != names:
        raise ArchiveError("its components differ from the report's: not archived",
                           paths[0] if paths else None)
    return out
