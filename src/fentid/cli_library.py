"""``fentid library ...``: the curator's commands, each a thin layer over fentid.curation.

Every handler takes the parsed arguments, calls the curation or library API, prints text or
JSON (``--json``) and returns the exit code (0 ok, 2 bad input such as rejected records).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from fentid.curation import (
    add_spectrum,
    create_from_default,
    import_sources,
    reassign_entry,
)
from fentid.errors import LibraryError
from fentid.reference_library import Library, create, edit
from fentid.reference_library import schema as S
from fentid.reference_library.export import export

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _curator(args) -> str | None:
    return getattr(args, "curator", None) or os.environ.get("FENTID_CURATOR")


def iso(unix_time) -> str | None:
    """ISO 8601 (UTC, seconds) of a unix time; None for a missing one."""
    import datetime as dt

    try:
        value = float(unix_time)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")


def cli_create(args, emit, progress=None) -> int:
    if args.from_default:
        path = create_from_default(args.lib, name=args.name, curator=_curator(args))
    else:
        path = create(args.lib, name=args.name, curator=_curator(args))
    with Library.open(path) as lib:
        out = {"path": str(path), "compounds": lib.n_compounds(),
               "entries": {t: int(lib.entry_columns(t)["entry_id"].size)
                           for t in lib.techniques()},
               "library_version": lib.library_version, "checksum": lib.checksum,
               "from_default": bool(args.from_default)}
    emit(out, args.json, lambda o: (
        f"created {o['path']} with {o['compounds']} compounds"
        + ("".join(f", {n} {t} spectra" for t, n in o["entries"].items())
           + " (a copy of fentid's default library)" if o["from_default"] else
           " (the catalog; no spectra yet)") + "\n"))
    return EXIT_OK


def _import_text(report: dict) -> str:
    lines = [(f"imported {report['imported']} spectra ({report['matched_catalog']} matched to "
              f"known compounds, {report['new_compounds']} new compounds); "
              f"{len(report['rejected'])} rejected, {len(report['flagged'])} flagged")]
    if report["library_version"] is not None:
        lines.append(f"library version {report['library_version']}")
    return "\n".join(lines) + "\n"


def cli_import(args, emit, progress=None) -> int:
    report = import_sources(args.lib, args.sources, fmt=args.format, licence=args.licence,
                            curator=_curator(args), progress=progress).as_dict()
    for bad in report["rejected"]:
        where = f"record {bad['record']}: " if bad["record"] else ""
        sys.stderr.write(f"fentid: rejected: {bad['file']}: {where}{bad['reason']}\n")
    emit(json_safe(report), args.json, _import_text)
    return EXIT_BAD_INPUT if report["rejected"] else EXIT_OK


def cli_add(args, emit, progress=None) -> int:
    entry = add_spectrum(args.lib, args.file, args.compound, licence=args.licence,
                         curator=_curator(args), name=args.name)

    def text(e):
        flags = "".join(f"flag: {f}\n" for f in e["flags"])
        return f"added entry {e['entry_id']} ({e['technique']}) for {e['compound']}\n{flags}"

    emit(json_safe(entry) if args.json else entry, args.json, text)
    return EXIT_OK


_RETIRED = "\tretired"
LIST_KEYS = ("entry_id", "compound", "inchikey", "technique", "source", "source_record",
             "licence", "accession", "compound_class", "isomer_group", "retired")


def cli_list(args, emit, progress=None) -> int:
    with Library.open(args.lib) as lib:
        if args.technique and args.technique not in S.TECHNIQUES:
            raise LibraryError(f"unknown technique {args.technique!r}; use one of "
                               f"{', '.join(S.TECHNIQUES)}", args.lib)
        techs = [args.technique] if args.technique else lib.techniques()
        rows = [e for t in techs if t in lib.techniques() for e in lib.entries(t)]
    if args.compound_class:
        rows = [e for e in rows if e["compound_class"] == args.compound_class]
    rows = [{k: e[k] for k in LIST_KEYS} | {"added_at": iso(e.get("added_at"))} for e in rows]
    emit(rows, args.json, lambda rs: "".join(
        f"{r['entry_id']}\t{r['technique']}\t{r['compound']}\t{r['inchikey']}\t"
        f"{Path(r['source']).name}:{r['source_record'] or ''}"
        f"{_RETIRED if r['retired'] else ''}\n" for r in rs))
    return EXIT_OK


def json_safe(value):
    """NaN/inf become None so ``--json`` output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _entry_id(args) -> int:
    try:
        return int(args.entry_id)
    except ValueError:
        raise LibraryError(f"entry id must be a number, not {args.entry_id!r}",
                           args.lib) from None


def cli_show(args, emit, progress=None) -> int:
    with Library.open(args.lib) as lib:
        entry = lib.entry(_entry_id(args))
        peaks = lib.entry_peaklist(entry["entry_id"])
        entry["compound_record"] = lib.compound_row(entry["compound_id"])
    entry["added_at"] = iso(entry.get("added_at"))
    entry["peaks"] = {"position": peaks.position.tolist(), "intensity": peaks.intensity.tolist(),
                      "unit": peaks.unit}

    def text(e):
        head = "".join(f"{k}: {v}\n" for k, v in e.items() if k not in ("peaks",
                                                                        "compound_record"))
        body = "".join(f"{p:g}\t{i:g}\n" for p, i in zip(e["peaks"]["position"],
                                                         e["peaks"]["intensity"]))
        return head + f"peaks ({len(e['peaks']['position'])}, {e['peaks']['unit']}):\n" + body

    emit(json_safe(entry) if args.json else entry, args.json, text)
    return EXIT_OK


def cli_remove(args, emit, progress=None) -> int:
    entry_id = _entry_id(args)
    with edit(args.lib, _curator(args)) as w:
        done = w.retire(entry_id, args.reason)
    emit({**done, "reason": args.reason}, args.json, lambda d: (
        f"retired entry {d['entry_id']} (kept in the file, excluded from search): "
        f"{d['reason']}\n"))
    return EXIT_OK


def cli_reassign(args, emit, progress=None) -> int:
    done = reassign_entry(args.lib, _entry_id(args), args.compound, args.reason,
                          curator=_curator(args))
    emit(done, args.json, lambda d: f"entry {d['entry_id']} ({d['technique']}): {d['from']} -> "
                                    f"{d['to']} ({d['reason']})\n")
    return EXIT_OK


def cli_export(args, emit, progress=None) -> int:
    with Library.open(args.lib) as lib:
        n = export(lib, args.out, args.format)
    emit({"out": str(args.out), "format": args.format, "entries": n}, args.json,
         lambda d: f"wrote {d['entries']} entries to {d['out']}\n")
    return EXIT_OK


def cli_validate(args, emit, progress=None) -> int:
    from fentid.reference_library.audit import validate_library

    report = validate_library(args.lib, progress=progress)
    emit(report, args.json, _validate_text)
    return EXIT_BAD_INPUT if report["errors"] else EXIT_OK


def _validate_text(r: dict) -> str:
    lines = [(f"{r['path']}: {r['compounds']} compounds, {r['entries']} entries, "
              f"{len(r['errors'])} errors, {len(r['warnings'])} warnings, "
              f"{r['skipped']} checks skipped ({r['skipped_reason']}); "
              f"checksum {'ok' if r['checksum_ok'] else 'MISMATCH'}")]
    lines += [f"error: {e}" for e in r["errors"]]
    lines += [f"warning: {w}" for w in r["warnings"]]
    return "\n".join(lines) + "\n"


def cli_history(args, emit, progress=None) -> int:
    with Library.open(args.lib) as lib:
        rows = lib.audit()
    for row in rows:
        row["time_iso"] = iso(row["time"])
        row["detail"] = json.loads(row["detail"] or "{}")
    emit(rows, args.json, lambda rs: "".join(
        f"{r['time_iso']}\tv{r['library_version']}\t{r['action']}\t{r['curator']}\t"
        f"{'' if r['entry_id'] < 0 else r['entry_id']}\t"
        f"{json.dumps(r['detail'], sort_keys=True)}\n" for r in rs))
    return EXIT_OK
