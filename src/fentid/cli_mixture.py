"""``fentid mixture SAMPLE... --library LIB``: 1H mixture analysis of NMR samples.

A thin layer over :func:`fentid.spectra.nmr_mixture.analyse`: the library is opened once,
every sample is decomposed into library references, and the components (with their
conclusion), molar ratios and unexplained signals are printed (text or ``--json``).
"""

from __future__ import annotations

from fentid.errors import FentidError

EXIT_OK = 0


def _text(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r['sample']}  [1H mixture, {r['field_mhz']:.0f} MHz; axis offset "
                     f"{r['offset_ppm']:+.3f} ppm ({r['offset_source']})]")
        if not r["components"]:
            lines.append("  no library compound found")
        for c in r["components"]:
            flag = " [PREDICTED reference]" if c["predicted"] else ""
            lines.append(f"  {c['status']:<10} {c['compound']}{flag}: {c['molar_fraction']:.0%}"
                         f" of named components by moles; {c['reason']}")
        shown = ", ".join(f"{u['ppm']:.2f}" for u in r["unexplained"][:12])
        lines.append(f"  unexplained: {r['unexplained_fraction']:.0%} of the sample's signal"
                     + (f"; signals at {shown} ppm" if shown else ""))
    return "\n".join(lines) + "\n"


def cli_mixture(args, emit, progress=None) -> int:
    from fentid.pipeline import open_library
    from fentid.spectra.nmr_mixture import analyse_file

    results = []
    with open_library(args.library) as searcher:
        for k, path in enumerate(args.samples, 1):
            try:
                res = analyse_file(path, searcher)
            except ValueError as exc:
                raise FentidError(str(exc)) from None
            for c in res["components"]:
                c.pop("index_row", None)
            results.append(res)
            if progress:
                progress(k, len(args.samples), str(path))
    emit(results, args.json, _text)
    return EXIT_OK
