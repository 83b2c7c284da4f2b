"""read -> process -> pick -> search -> conclude; the one loop under every surface.

The CLI (``fentid identify``/``search``), the viewer, the watch-folder service and archive
re-screening all call :func:`identify` (or :func:`search`) with a library opened once by
:func:`open_library`; none re-implements the loop, so a fix in a rule reaches all of them.

This module holds the glue only: drivers read, :mod:`fentid.components` processes and picks,
:mod:`fentid.searching` searches, :mod:`fentid.conclude` concludes, :mod:`fentid.report`
presents.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from fentid.cancellation import cancellable, is_set
from fentid.components import (  # noqa: F401 (re-exported: the public component API)
    Component,
    components_of,
    format_peaks_text,
    peaks_report,
)
from fentid.errors import CancelledError, FentidError
from fentid.report import CaseReport, ComponentReport, LibraryInfo, SampleReport
from fentid.searching import (  # noqa: F401 (re-exported)
    DEFAULT_ALGORITHM,
    LibrarySearcher,
    public_hits,
    query_technique,
    without_solvent,
)
from fentid.spectra.model import Dataset

#: Hits the conclusion looks at, whatever ``top`` the report shows.
CONCLUSION_DEPTH = 50

Progress = Callable[[int, int, str], None]


def open_library(path: str | os.PathLike | None = None) -> LibrarySearcher:
    """Open a reference library for searching, once, for many calls.

    Parameters
    ----------
    path : path-like, optional
        The library file.  Default: ``$FENTID_LIBRARY``, then the ``library`` setting of the
        config file, then the library shipped with fentid (see :mod:`fentid.defaults`).

    Returns
    -------
    LibrarySearcher
        Use as a context manager, or call ``close()``.
    """
    from fentid.defaults import resolve_library

    resolved, is_default = resolve_library(path)
    searcher = LibrarySearcher(resolved)
    searcher.is_default = is_default
    return searcher


def _library_info(searcher: LibrarySearcher) -> LibraryInfo:
    return LibraryInfo(path=searcher.path, name=str(searcher.library.attrs.get("name", "")),
                       library_version=searcher.library_version, checksum=searcher.checksum,
                       default=getattr(searcher, "is_default", False),
                       summary=searcher.summary())


def _read(inputs: Iterable, cancel=None) -> list[Dataset]:
    """Datasets of ``inputs`` (paths or Datasets); every file is read before any search, so
    a bad file fails before minutes of work."""
    from fentid.components import component_read_options
    from fentid.drivers import read

    out = []
    for item in inputs:
        _check_cancel(cancel)
        if isinstance(item, Dataset):
            out.append(item)
        else:
            out.append(read(item, **component_read_options(item)))
    return out


def _problems(datasets: list[Dataset]) -> list[dict]:
    return [{"file": ds.path, **p.as_dict()} for ds in datasets for p in ds.problems]


def _check_cancel(cancel) -> None:
    if is_set(cancel):
        raise CancelledError("cancelled")


class _Opened:
    """``library`` as given (an open searcher, kept open) or opened here (closed after)."""

    def __init__(self, library):
        self.given = isinstance(library, LibrarySearcher)
        self.searcher = library if self.given else open_library(library)

    def __enter__(self) -> LibrarySearcher:
        return self.searcher

    def __exit__(self, *exc):
        if not self.given:
            self.searcher.close()


def identify(inputs, library: LibrarySearcher | str | os.PathLike | None = None, *,
             algorithm: str | None = None, top: int = 10, progress: Progress | None = None,
             cancel=None) -> CaseReport:
    """Identify what the samples of one case contain.

    Parameters
    ----------
    inputs : path-like, Dataset, or a sequence of them
        The samples of one case (e.g. the GC-MS run and the NMR of the same powder).
    library : LibrarySearcher, path-like or None
        An open library (:func:`open_library`; kept open, reuse it across calls), a library
        file, or None for the default library.
    algorithm : str, optional
        Score for MS searches (default per technique: identity for EI, entropy for MS/MS).
    top : int
        Hits shown per component (the conclusion always looks at :data:`CONCLUSION_DEPTH`).
    progress : callable, optional
        ``progress(done, total, what)`` after each component.
    cancel : callable or threading.Event, optional
        Checked between files and components, and while a file streams (each spectrum of
        an mzML/mzXML run, each MB hashed; see :mod:`fentid.cancellation`); when set,
        :class:`~fentid.errors.CancelledError` is raised.

    Returns
    -------
    CaseReport
        ``.to_dict()`` is the ``fentid identify --json`` report, ``.to_text()`` the text one;
        components keep their processed spectrum, peaks and chromatogram.
    """
    if top < 1:
        raise FentidError(f"--top must be at least 1, not {top}")
    if isinstance(inputs, str | os.PathLike | Dataset):
        inputs = [inputs]
    with cancellable(cancel):
        return _identify(inputs, library, algorithm, top, progress, cancel)


def _identify(inputs, library, algorithm, top, progress, cancel) -> CaseReport:
    from fentid import __version__
    from fentid.conclude import combine_case, one_retention_time_per_compound

    datasets = _read(inputs, cancel)
    samples = [SampleReport(path=ds.path, driver=ds.driver, sha256=ds.sha256,
                            technique=ds.technique,
                            problems=[p.as_dict() for p in ds.problems], dataset=ds)
               for ds in datasets]
    with _Opened(library) as searcher:
        work = []
        for ds in datasets:
            _check_cancel(cancel)
            work.extend((ds, c) for c in components_of(ds))
        components = []
        for k, (ds, comp) in enumerate(work, start=1):
            _check_cancel(cancel)
            components.append(identify_component(searcher, comp, ds.path, algorithm, top))
            if progress:
                progress(k, len(work), comp.name)
        info = _library_info(searcher)
    _apply_case_rules(components, one_retention_time_per_compound)
    case = combine_case([s.to_dict() for s in samples],
                        [{"sample": c.sample, "conclusion": c.conclusion} for c in components],
                        info.summary)
    return CaseReport(fentid_version=__version__, library=info, samples=samples,
                      components=components, case=case, problems=_problems(datasets))


def identify_component(searcher: LibrarySearcher, comp: Component, sample: str,
                       algorithm: str | None = None, top: int = 10) -> ComponentReport:
    """Search and conclude on one component (the body of :func:`identify`'s loop)."""
    from fentid.conclude import QueryFacts, conclude

    # conclude on a deep list: a rival within the replicate spread must count even when
    # the user asks to see fewer hits (--top 1 must not turn tentative into identified)
    technique, algo, cross = searcher.plan(comp, algorithm)
    _, algo, hits = searcher.search(comp, algorithm, max(top, CONCLUSION_DEPTH))
    referencing = comp.spectrum.metadata.get("referenced") if comp.spectrum is not None \
        and technique.startswith("nmr") else None
    query = QueryFacts(technique=technique, algorithm=algo,
                       library_has_references=searcher.has(technique),
                       ionization=comp.peaks.metadata.get("ionization"), cross_level=cross,
                       nmr_referencing=referencing)
    verdict = conclude(hits, knowledge=searcher.knowledge(technique), query=query)
    return ComponentReport(name=comp.name, sample=sample, technique=technique, algorithm=algo,
                           hits=hits[:top], conclusion=verdict,
                           retention_time_s=comp.retention_time_s, area=comp.area,
                           start_s=comp.start_s, stop_s=comp.stop_s, component=comp)


def _apply_case_rules(components: list[ComponentReport], rule) -> None:
    """Case-level rules (one retention time per compound) over the components, per technique
    policy spread."""
    from fentid.conclude import policy_for

    by_tech: dict[tuple, list[int]] = {}
    for i, c in enumerate(components):
        by_tech.setdefault((c.technique, c.algorithm), []).append(i)
    for (tech, algo), idx in by_tech.items():
        rows = [{"sample": components[i].sample,
                 "retention_time_s": components[i].retention_time_s,
                 "start_s": components[i].start_s, "stop_s": components[i].stop_s,
                 "conclusion": components[i].conclusion,
                 "score": components[i].hits[0]["score"] if components[i].hits else 0.0}
                for i in idx]
        for i, verdict in zip(idx, rule(rows, policy_for(algo, tech).replicate_spread),
                              strict=True):
            components[i].conclusion = verdict


def search(inputs, library: LibrarySearcher | str | os.PathLike | None = None, *,
           algorithm: str | None = None, top: int = 10, progress: Progress | None = None
           ) -> tuple[list[dict], list[dict], LibraryInfo]:
    """``fentid search``: every spectrum of every input against the library.

    Returns
    -------
    results, problems, library
        One ``{"query", "path", "technique", "algorithm", "hits"}`` per query spectrum;
        unreadable records (``{"file", "record", "name", "reason"}``); the library used.
    """
    if top < 1:
        raise FentidError(f"--top must be at least 1, not {top}")
    if isinstance(inputs, str | os.PathLike | Dataset):
        inputs = [inputs]
    datasets = _read(inputs)
    out = []
    with _Opened(library) as searcher:
        comps = [(ds, c) for ds in datasets for c in components_of(ds)]
        for k, (ds, comp) in enumerate(comps, start=1):
            technique, algo, hits = searcher.search(comp, algorithm, top)
            out.append({"query": comp.name, "path": ds.path, "technique": technique,
                        "algorithm": algo, "hits": public_hits(hits)})
            if progress:
                progress(k, len(comps), comp.name)
        info = _library_info(searcher)
    return out, _problems(datasets), info


def search_files(paths, library, algorithm: str | None = None, top: int = 10,
                 progress: Progress | None = None) -> list[dict]:
    """The result list of :func:`search` (kept for scripts written against it)."""
    return search(paths, library, algorithm=algorithm, top=top, progress=progress)[0]


def identify_samples(paths, library, algorithm: str | None = None, top: int = 10,
                     progress: Progress | None = None) -> dict:
    """``identify(...).to_dict()`` (kept for scripts written against it)."""
    return identify(paths, library, algorithm=algorithm, top=top, progress=progress).to_dict()


def format_search_text(results: list[dict]) -> str:
    """Human-readable ``fentid search`` output."""
    lines = []
    for r in results:
        algo = f", {r['algorithm']}" if r["algorithm"] else ""
        lines.append(f"{r['query']}  [{r['technique']}{algo}]")
        if not r["hits"]:
            lines.append("  no hits")
        for h in r["hits"]:
            score = (f"MF {h['mf']:.0f} RMF {h['rmf']:.0f}" if h["mf"] is not None
                     else f"score {h['score']:.4g}")
            rec = h.get("record_name")
            name = h["compound"] + (f" [record: {rec}]" if rec and rec.lower() !=
                                    h["compound"].lower() else "")
            lines.append(f"  {h['rank']:>3}. {score:<18} {name}  (entry {h['entry_id']}, "
                         f"record {h['source_record']})")
    return "\n".join(lines) + "\n"
