"""``fentid rescreen``: the handler (registration is in :mod:`fentid.cli`)."""

from __future__ import annotations

import json
import sys

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_parser(sub, common, library_help: str) -> None:
    """Register ``fentid rescreen`` under ``sub``."""
    p = sub.add_parser("rescreen", parents=[common],
                       help="search archived components again against a newer library "
                            "(on Dask)")
    p.add_argument("archive", metavar="ARCHIVE", help="case archive folder")
    p.add_argument("--library", default=None, help=library_help)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--full", action="store_true",
                      help="every component against the whole library")
    what.add_argument("--since-version", type=int, default=None, metavar="V",
                      help="entries added or changed since library version V (default: the "
                           "version the archive was screened with)")
    what.add_argument("--entries", type=int, nargs="+", default=None, metavar="ID",
                      help="these library entries only")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, metavar="N",
                       help="local Dask worker processes (default 2)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing dask.distributed scheduler (tcp://host:8786)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=None, metavar="FILE", help="write the result to FILE")


def cli_rescreen(args, write_out, progress) -> int:
    """Run the re-screening; the result to stdout or ``--out``, unreadable partitions on
    stderr (one line each, exit 2)."""
    from fentid.archive.rescreen import format_text, rescreen

    result = rescreen(args.archive, args.library, full=args.full,
                      since_version=args.since_version, entries=args.entries,
                      workers=args.workers, scheduler=args.scheduler, progress=progress)
    text = json.dumps(result, indent=2, sort_keys=True) + "\n" if args.json \
        else format_text(result)
    if args.out:
        write_out(args.out, text)
    else:
        sys.stdout.write(text)
    for p in result["problems"]:
        sys.stderr.write(f"fentid: error: {p['file']}: {p['reason']}\n")
    return EXIT_BAD_INPUT if result["problems"] else EXIT_OK
