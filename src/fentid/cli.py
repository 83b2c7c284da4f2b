"""The ``fentid`` command. Thin: parses arguments and calls the modules that do the work.

Exit codes: 0 success, 2 bad input (any :class:`~fentid.errors.FentidError`,
printed as one line ``fentid: error: PATH: reason``), 1 internal failure
(also one line; set ``FENTID_DEBUG=1`` to see the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from fentid import __version__
from fentid.errors import FentidError, one_line

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _emit(payload, as_json: bool, text_fn) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_fn(payload))


def _json_default(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "items"):
        return dict(value.items())
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# --- info / peaks -----------------------------------------------------------------------

def cmd_info(args) -> int:
    from fentid import describe

    status = EXIT_OK
    for path in args.paths:
        report = describe.describe(path)
        _emit(report, args.json, describe.format_text)
        if report.get("problems"):
            # a library with unreadable records: the good ones are described above, the
            # bad ones listed; exit 2 so scripts notice
            sys.stderr.write(f"fentid: error: {path}: {len(report['problems'])} record(s) "
                             "could not be read (listed above)\n")
            status = EXIT_BAD_INPUT
    return status


def _report_problems(problems: list[dict]) -> int:
    """Unreadable records on stderr, one line each; EXIT_BAD_INPUT when there are any."""
    for p in problems:
        where = f"record {p['record']}" + (f" ({p['name']})" if p.get("name") else "")
        sys.stderr.write(f"fentid: error: {p['file']}: {where}: {p['reason']}\n")
    return EXIT_BAD_INPUT if problems else EXIT_OK


def cmd_peaks(args) -> int:
    from fentid import components

    status = EXIT_OK
    for path in args.paths:
        report = components.peaks_report(path, snr=args.snr,
                                         min_relative_height=args.min_relative_height)
        _emit(report, args.json, components.format_peaks_text)
        problems = [{"file": report["path"], **p} for p in report.get("problems", ())]
        status = max(status, _report_problems(problems))
    return status


def cmd_search(args) -> int:
    from fentid import pipeline

    results, problems, lib = pipeline.search(
        args.queries, library=args.library, algorithm=args.algorithm, top=args.top,
        progress=_progress(args))
    if args.json:
        _emit({"library": lib.to_dict(), "results": results, "problems": problems}, True,
              None)
    else:
        default = " (fentid's default library)" if lib.default else ""
        sys.stdout.write(f"Library: {lib.path}{default}, version {lib.library_version}, "
                         f"checksum {lib.checksum[:16]}\n")
        sys.stdout.write(pipeline.format_search_text(results))
    return _report_problems(problems)


def cmd_identify(args) -> int:
    from fentid import pipeline

    report = pipeline.identify(args.samples, library=args.library, algorithm=args.algorithm,
                               top=args.top, progress=_progress(args))
    text = (json.dumps(report.to_dict(), indent=2, default=_json_default) + "\n" if args.json
            else report.to_text())
    if args.out:
        _write_out(args.out, text)
    else:
        sys.stdout.write(text)
    if args.archive:
        from fentid.archive import open_archive

        open_archive(args.archive).add(report)
    return _report_problems(report.problems)


def _write_out(path: str, text: str) -> None:
    """Write a report file atomically, or say plainly why it cannot be written."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".fentid-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise FentidError(f"cannot write the report: {exc.strerror or exc}", path) from None


def cmd_demo(args) -> int:
    """``fentid demo``: write the case, identify it, print the report and the check."""
    from fentid import demo, pipeline

    seed = demo.SEED if args.seed is None else args.seed
    truth = demo.write_case(args.folder, seed=seed)
    run = os.path.join(args.folder, "seized-powder.cdf")
    report = pipeline.identify([run], library=args.library, progress=_progress(args))
    rows = demo.check(report.to_dict(), truth)
    if args.json:
        payload = report.to_dict()
        payload["demo"] = {"folder": os.path.abspath(args.folder), "composition": truth,
                           "check": rows}
        _emit(payload, True, None)
    else:
        sys.stdout.write(f"fentid demo: a GC-MS run of a seized powder of known composition, "
                         f"written to {os.path.abspath(args.folder)} (seized-powder.cdf, "
                         "seized-powder.mzML, composition.json)\n\n")
        sys.stdout.write(report.to_text())
        sys.stdout.write("\n" + demo.format_check(rows))
    return EXIT_OK


def _progress(args):
    """A progress callback writing to stderr when it is a terminal (never in --json pipes)."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None

    def report(done: int, total: int, what: str = "") -> None:
        sys.stderr.write(f"\r{done}/{total} {what[:60]:<60}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def cmd_view(args) -> int:
    from fentid import gui

    return gui.launch(args.files, args.library, screenshot=args.screenshot,
                      component=args.component, size=args.size, tab=args.tab, case=args.case)


def cmd_rescreen(args) -> int:
    from fentid import cli_rescreen

    return cli_rescreen.cli_rescreen(args, _write_out, _progress(args))


# --- library ----------------------------------------------------------------------------

def cmd_library(args) -> int:
    from fentid import cli_library

    handler = getattr(cli_library, f"cli_{args.library_command.replace('-', '_')}")
    return handler(args, emit=_emit, progress=_progress(args))


def cmd_mixture(args) -> int:
    from fentid.cli_mixture import cli_mixture

    return cli_mixture(args, emit=_emit, progress=_progress(args))


# --- watch (the instrument PC's service) -------------------------------------------------

def cmd_watch(args) -> int:
    from fentid.daemon import cli_watch

    return cli_watch(args, emit=_emit)


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def _add_watch_parser(sub, common) -> None:
    p = sub.add_parser("watch", parents=[common], help="watch folders and identify each new acquisition once "
                                     "(the instrument PC's service)")
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to watch")
    p.add_argument("--out", default=None, metavar="DIR", help="reports go here")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes, each with the library open (default 2)")
    p.add_argument("--poll", type=_seconds, default=None, metavar="SECONDS",
                   help="poll every SECONDS instead of native file events (default: native, "
                        "polling on SMB/CIFS and NFS shares)")
    p.add_argument("--settle", type=_seconds, default=None, metavar="SECONDS",
                   help="an acquisition must stay unchanged this long before it is read "
                        "(default 10)")
    p.add_argument("--rescan", type=_seconds, default=None, metavar="SECONDS",
                   help="full rescan interval (default 300)")
    p.add_argument("--config", default=None, metavar="FILE", help="TOML file with the settings")
    p.add_argument("--state", default=None, metavar="DIR",
                   help="journal, lock, status and log folder (default: per output folder in "
                        "the user's state folder)")
    p.add_argument("--log", default=None, metavar="FILE", help="rotating log file")
    p.add_argument("--on-report", default=None, metavar="CMD",
                   help="run CMD after each report ({report}, {text}, {acquisition}; else the "
                        "report's path is appended)")
    p.add_argument("--once", action="store_true", help="process what is there, then exit")
    p.add_argument("--status", action="store_true",
                   help="queue, in flight, done, failed and the last errors of the service")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_watch)


def _add_library_parser(sub, common) -> None:
    lib = sub.add_parser("library", parents=[common],
                         help="create, import into, inspect and curate a library")
    lsub = lib.add_subparsers(dest="library_command", required=True, metavar="COMMAND")

    p = lsub.add_parser("create", parents=[common], help="create a library file (the catalog, or a copy of the "
                                       "default library)")
    p.add_argument("lib")
    p.add_argument("--name", default=None, help="human-readable library name")
    p.add_argument("--from-default", action="store_true",
                   help="start from fentid's packaged default library (its spectra, sources "
                        "and licences)")
    p.add_argument("--curator", default=None)
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("import", parents=[common], help="import reference spectra from library or instrument files")
    p.add_argument("lib")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--format", default="auto", help="driver name, or auto (default)")
    p.add_argument("--licence", "--license", dest="licence", default=None,
                   help="licence of the imported records (overrides what a record says)")
    p.add_argument("--curator", default=None, help="who imports (default: $USER)")
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("add", parents=[common], help="add one measured spectrum for a compound")
    p.add_argument("lib")
    p.add_argument("file")
    p.add_argument("--compound", required=True, help="catalog name, InChIKey or SMILES")
    p.add_argument("--name", default=None,
                   help="name of a new compound given by SMILES (default: the SMILES)")
    p.add_argument("--licence", "--license", dest="licence", default=None)
    p.add_argument("--curator", default=None)
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("list", parents=[common], help="list entries")
    p.add_argument("lib")
    p.add_argument("--class", dest="compound_class", default=None)
    p.add_argument("--technique", default=None)
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("show", parents=[common], help="show one entry with its peaks and provenance")
    p.add_argument("lib")
    p.add_argument("entry_id")
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("remove", parents=[common], help="retire an entry (recorded in the audit)")
    p.add_argument("lib")
    p.add_argument("entry_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--curator", default=None)
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("reassign", parents=[common], help="attach an entry to another compound (audited)")
    p.add_argument("lib")
    p.add_argument("entry_id")
    p.add_argument("--compound", required=True, help="catalog or library name, InChIKey or SMILES")
    p.add_argument("--reason", required=True)
    p.add_argument("--curator", default=None)
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("export", parents=[common], help="write entries to an exchange format")
    p.add_argument("lib")
    p.add_argument("out")
    p.add_argument("--format", required=True, choices=["msp", "jcamp", "mgf"])
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("validate", parents=[common], help="check every compound and entry")
    p.add_argument("lib")
    p.add_argument("--json", action="store_true")

    p = lsub.add_parser("history", parents=[common], help="the audit trail")
    p.add_argument("lib")
    p.add_argument("--json", action="store_true")


LIBRARY_HELP = ("reference library file (default: $FENTID_LIBRARY, the config file's "
                "'library', else the library shipped with fentid)")


def _common() -> argparse.ArgumentParser:
    """Options every command accepts, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output")
    common.add_argument("--strict", action="store_true", default=argparse.SUPPRESS,
                        help="any warning (data lost, referencing guessed...) makes the exit "
                             "code 2")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fentid",
        description="Identify fentanyl analogs from vendor NMR and mass-spectrometry files.")
    parser.add_argument("--version", action="version", version=f"fentid {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--strict", action="store_true",
                        help="any warning (data lost, referencing guessed...) makes the exit "
                             "code 2")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common()

    p = sub.add_parser("info", parents=[common], help="describe a file or folder: driver, technique, header facts")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("peaks", parents=[common], help="process and pick peaks (NMR) or components (GC-MS)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.add_argument("--snr", type=float, default=None,
                   help="minimum signal-to-noise ratio of a peak (default: per technique)")
    p.add_argument("--min-relative-height", type=float, default=None, metavar="FRACTION",
                   help="NMR: drop lines below this fraction of the tallest non-solvent line "
                        "(e.g. 0.001 gives lists about the size of TopSpin's; default off)")
    p.set_defaults(func=cmd_peaks)

    p = sub.add_parser("search", parents=[common], help="search spectra from files against a library")
    p.add_argument("queries", nargs="+", metavar="QUERY_FILE")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--algorithm", default=None,
                   choices=["identity", "reverse", "similarity", "cosine", "entropy"],
                   help="score (default: identity for EI, entropy for MS/MS; NMR peak lists "
                        "always use the NMR peak-list similarity)")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("identify", parents=[common], help="read, process, search and conclude, with a report")
    p.add_argument("samples", nargs="+", metavar="SAMPLE")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=None, help="write the report to this file")
    p.add_argument("--archive", default=None, metavar="DIR",
                   help="also add every component to this case archive (fentid rescreen)")
    p.add_argument("--algorithm", default=None,
                   choices=["identity", "reverse", "similarity", "cosine", "entropy"])
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(func=cmd_identify)

    p = sub.add_parser("mixture", parents=[common],
                       help="1H mixture analysis: components, molar ratios, unexplained signals")
    p.add_argument("samples", nargs="+", metavar="SAMPLE")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mixture)

    p = sub.add_parser("demo", parents=[common],
                       help="write a realistic GC-MS case of known composition and identify it")
    p.add_argument("folder", nargs="?", default="fentid-demo",
                   help="where to write the case (default: ./fentid-demo)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--seed", type=int, default=None, help="simulation seed (default: fixed)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("view", parents=[common], help="the desktop viewer (needs the gui extra)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--library", default=None, help=LIBRARY_HELP)
    p.add_argument("--case", default=None, metavar="CASE.jsonl",
                   help="case record file (default: <first sample>.fentid-case.jsonl beside it)")
    p.add_argument("--screenshot", default=None, metavar="OUT.png",
                   help="render the window offscreen to this PNG and exit")
    p.add_argument("--component", type=int, default=None, metavar="N",
                   help="with --screenshot: select component N (1-based, the # column)")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="with --screenshot: window size in pixels (default 1600x1000)")
    p.add_argument("--tab", default="case", choices=["case", "library"],
                   help="with --screenshot: the tab shown")
    p.set_defaults(func=cmd_view)

    _add_watch_parser(sub, common)
    _add_library_parser(sub, common)
    from fentid import cli_rescreen

    cli_rescreen.add_parser(sub, common, LIBRARY_HELP)
    sub.choices["rescreen"].set_defaults(func=cmd_rescreen)
    return parser


#: Warnings shown in this process (``--strict`` turns any into exit 2).
_WARNED: list[str] = []


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (DataQualityWarning...) as one line each, without source code lines."""
    text = one_line(str(message))
    _WARNED.append(text)
    sys.stderr.write(f"fentid: warning: {text}\n")


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _show_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "library":
        args.func = cmd_library
    try:
        status = args.func(args)
        if getattr(args, "strict", False) and _WARNED and status == EXIT_OK:
            sys.stderr.write(f"fentid: error: --strict: {len(_WARNED)} warning(s) above\n")
            return EXIT_BAD_INPUT
        return status
    except FentidError as exc:
        sys.stderr.write(f"fentid: error: {one_line(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("fentid: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, never a traceback
        if os.environ.get("FENTID_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"fentid: error: internal error ({type(exc).__name__}: "
                         f"{one_line(str(exc))}); "
                         "please report it with FENTID_DEBUG=1 output\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
