"""Watch-folder service: identifies each new acquisition unattended, once (no Qt).

``fentid watch FOLDER... --out DIR`` runs :class:`fentid.daemon.service.Service`; the
modules, in the order an acquisition meets them:

- :mod:`~fentid.daemon.config`: settings (command line over TOML config file);
- :mod:`~fentid.daemon.watcher`: watchdog observers (native, or polling on shares);
- :mod:`~fentid.daemon.discovery`: what the acquisitions are, their fingerprints;
- :mod:`~fentid.daemon.completeness`: stable, complete for the format, not locked;
- :mod:`~fentid.daemon.journal`: the SQLite journal (one row per acquisition version);
- :mod:`~fentid.daemon.pool`: worker processes around ``fentid.identify``;
- :mod:`~fentid.daemon.outputs`: atomic reports, the day log, the on-report command;
- :mod:`~fentid.daemon.service`: the loop that ties them together, ``--status``.
"""

from __future__ import annotations


def cli_watch(args, emit) -> int:
    """``fentid watch``: run the service, ``--once``, or print ``--status``."""
    import json

    from fentid.daemon.config import make_settings, status_settings
    from fentid.daemon.service import Service, format_status, setup_logging, status

    cli = {"folders": list(args.folders), "out": args.out, "library": args.library,
           "workers": args.workers, "poll": args.poll, "settle": args.settle,
           "rescan": args.rescan, "state": args.state, "log": args.log,
           "on_report": args.on_report, "once": args.once}
    if args.status:
        state = status_settings(cli, args.config)
        report = status(state)
        if args.json:
            emit(report, True, None)
        else:
            emit(report, False, format_status)
        return 0
    settings = make_settings(cli, args.config)
    setup_logging(settings, quiet=getattr(args, "quiet", False))
    code = Service(settings).run()
    if args.json and settings.once:
        from fentid.daemon.journal import Journal
        from fentid.daemon.service import JOURNAL_NAME

        journal = Journal(settings.state / JOURNAL_NAME, readonly=True)
        try:
            print(json.dumps(journal.counts()))
        finally:
            journal.close()
    return code
