"""NMR search on the shared records: peak lists as queries, conditions-aware matching,
the indexed search, and the few-line and other-solvent rules."""

from __future__ import annotations

import json

import pytest

from fentid.components import components_of
from fentid.drivers import read
from fentid.pipeline import identify
from fentid.reference_library import Library, create
from fentid.reference_library.export import export
from fentid.searching import LibrarySearcher
from fentid.spectra.nmr_match import canonical_solvent
from fentid.spectra.nmr_search import query_signals
from tests.conftest import NMR, run_cli

CAFFEINE = NMR / "nmrshiftdb2/targets/RYYVLZVUVIJVGH-UHFFFAOYSA-N.json"
TETRACAINE = NMR / "nmrshiftdb2/targets/GKCBAIGFKIBETG-UHFFFAOYSA-N.json"


def _component(path, record_id):
    return next(c for c in components_of(read(path))
                if c.peaks.metadata["record_id"] == record_id)


def test_a_jcamp_peak_table_is_searched_as_a_peak_list(shared_nmr_lib, tmp_path):
    """The issue's case: a tetracaine 13C peak table must not be re-picked as a profile."""
    one = tmp_path / "one.h5"
    create(one)
    from fentid.curation import import_sources

    import_sources(one, [TETRACAINE])
    with Library.open(one) as lib:
        assert export(lib, tmp_path / "tetracaine.jdx", "jcamp") == 1
    rows = json.loads(TETRACAINE.read_text())["Spectrum 13C 0"].strip("|").split("|")
    shifts = sorted({float(r.split(";")[0]) for r in rows})  # 15 carbons, 12 distinct shifts
    (comp,) = components_of(read(tmp_path / "tetracaine.jdx"))
    assert comp.spectrum is None and comp.peaks.position.tolist() == shifts
    report = identify([tmp_path / "tetracaine.jdx"], shared_nmr_lib)
    assert report.components[0].hits[0]["compound"] == "Tetracaine"


def test_a_peak_list_query_finds_its_own_compound(shared_nmr_lib):
    comp = _component(CAFFEINE, "nmrshiftdb2:10016316#Spectrum 1H 7")
    with LibrarySearcher(shared_nmr_lib) as s:
        _, _, hits = s.search(comp, top=5)
    assert hits[0]["compound"] == "Caffeine" and hits[0]["score"] > 0.95


@pytest.mark.parametrize(("path", "record", "truth"), [
    # caffeine 1H in DMSO-d6 against its CD3OD and CDCl3 spectra
    (CAFFEINE, "nmrshiftdb2:10016316#Spectrum 1H 7", "Caffeine"),
    # caffeine 13C in CD3OD against the CDCl3 and DMSO lists
    (CAFFEINE, "nmrshiftdb2:10016316#Spectrum 13C 3", "Caffeine"),
    # procaine hydrochloride 13C in D2O against free-base procaine in CDCl3
    (NMR / "nmrshiftdb2/targets/HCBIBCJNVBAKAB-UHFFFAOYSA-N.json",
     "nmrshiftdb2:10008927#Spectrum 13C 0", "Procaine"),
])
def test_cross_solvent_queries_rank_their_compound_first(shared_nmr_lib, path, record,
                                                         truth):
    comp = _component(path, record)
    own = canonical_solvent(comp.peaks.metadata["solvent"])
    with LibrarySearcher(shared_nmr_lib) as s:
        _, _, hits = s.search(comp, top=60)
        # only references measured in another (stated) solvent
        others = [h for h in hits if canonical_solvent(
            s.library.entry(h["entry_id"])["solvent"]) not in (own, None)]
    assert others and others[0]["compound"] == truth, others[:3]


def test_a_one_signal_reference_cannot_identify(shared_nmr_lib):
    """Dimethyl sulfone (one singlet): the few-line factor keeps any score below 0.85."""
    comp = _component(NMR / "bmrb_metabolomics/targets/HMDB0004983.json",
                      "HMDB0004983#spectral_peak_1H")
    report = identify([NMR / "bmrb_metabolomics/targets/HMDB0004983.json"], shared_nmr_lib)
    (c,) = report.components
    assert all(h["score"] <= 0.75 for h in c.hits)
    assert c.conclusion.status != "identified"
    assert query_signals(comp).n == 1


def test_indexed_search_ranks_as_scoring_every_entry(shared_nmr_lib):
    with LibrarySearcher(shared_nmr_lib) as s:
        s.search(_component(CAFFEINE, "nmrshiftdb2:10016316#Spectrum 1H 8"), top=1)
        index = s._nmr["nmr_1h"]
        for path, rec in [(CAFFEINE, "nmrshiftdb2:10016316#Spectrum 1H 8"),
                          (NMR / "bmrb_metabolomics/targets/bmse000065.json",
                           "bmse000065#spectral_peak_1H"),
                          (NMR / "bmrb_metabolomics/targets/bmse001251.json",
                           "bmse001251#spectral_peaks_1D_1H_set01")]:
            q = query_signals(_component(path, rec))
            # the best three (what a conclusion reads) are those of scoring every entry
            fast = [e["entry_id"] for _, e, _ in index.search(q, top=3)]
            slow = [e["entry_id"] for _, e, _ in index.search(q, top=3, exhaustive=True)]
            assert fast == slow


def test_cli_search_of_an_nmrshiftdb2_file(shared_nmr_lib):
    proc = run_cli("search", CAFFEINE, "--library", shared_nmr_lib, "--json", "--top", "1")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["results"] if isinstance(out, dict) else out) == 7


def test_solvent_windows_agree_with_the_searcher():
    from fentid import searching
    from fentid.spectra import nmr_match

    assert nmr_match.SOLVENT_WINDOW_PPM == searching.SOLVENT_WINDOW_PPM
    assert nmr_match.STANDARD_WINDOW_PPM == searching.STANDARD_WINDOW_PPM
