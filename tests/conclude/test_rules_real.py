"""Each conclusion rule pinned by a real case: real spectra, searched against the SWGDRUG 3.9
library built from the real file, through ``fentid.identify`` (what the CLI runs).

Truth comes from the data indexes (ms/index.csv compound names and InChIKeys), not from
what fentid printed before.  Single-spectrum SWGDRUG 3.4 files are the same lab's spectra
as the library's (self-matches): they pin the isomer rules, where what matters is the hit
list's shape; other labs' spectra pin the identifications.
"""

from __future__ import annotations

import json

import pytest

import fentid
from fentid.conclude import QueryFacts, conclude
from fentid.reference_library import Library
from tests.conftest import FORMATS, MS, run_cli
from tests.library_fixtures import (  # noqa: F401 (fixtures swgdrug_lib, nmr_lib)
    nmr_lib_fixture,
    swgdrug_lib_fixture,
)

SW34 = MS / "SWGDRUG-3.4_NIST-EIMS-mass-predictions"
NIST = MS / "NIST-FentanylClassifier/ExampleQuerySpectra"
SINGLEMOD = MS / "NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"
TOKYO = MS / "MassBank-data/Fac_Eng_Univ_Tokyo"


@pytest.fixture(scope="module")
def lib(swgdrug_lib):
    with fentid.open_library(swgdrug_lib) as searcher:
        yield searcher


def only(lib, path):
    report = fentid.identify(path, lib)
    assert len(report.components) == 1
    return report.components[0]


def named(lib, path, name):
    return next(c for c in fentid.identify(path, lib).components if c.name == name)


# --- compounds are what the record says -------------------------------------------------------

def test_library_keeps_stereoisomers_apart(lib):
    """SWGDRUG gives cocaine/pseudococaine, quinine/quinidine, levorphan/dextrorphan one
    stereo-free InChIKey; each record keeps its own compound."""
    entries = lib.library.entries("ei")
    for record in ("Cocaine", "Pseudococaine", "Quinine", "Quinidine", "Levorphan",
                   "Dextrorphan"):
        rows = [e for e in entries if e["record_name"] == record]
        assert rows and all(e["compound"] == record for e in rows), record
    # record 1748 of SWGDRUG39.msp is "Cocaine"
    assert lib.library.entry_at("ei", 1747)["compound"] == "Cocaine"


def test_cocaine_is_identified_as_cocaine_with_the_stereo_limitation(lib):
    comp = only(lib, SW34 / "3670.MSP")  # SWGDRUG 3.4 cocaine
    v = comp.conclusion
    assert (v.status, v.compound, v.record_name, v.rule) == ("identified", "Cocaine", "Cocaine",
                                                             "identified")
    assert "Pseudococaine" in v.stereo_isomers
    assert any("Cocaine or a stereoisomer" in lim and "Pseudococaine" in lim
               and "EI-MS does not distinguish" in lim for lim in v.limitations)
    assert comp.hits[0]["record_name"] == "Cocaine"


# --- identified: other labs' spectra of library compounds ---------------------------------------

@pytest.mark.parametrize("path, compound", [
    (MS / "MassBank-data/RIKEN/MSBNK-RIKEN-PR010011.txt", "Caffeine"),       # MF 940
    (TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP000082.txt", "Benzocaine"),         # MF 897
    (TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP003474.txt", "Benzocaine"),         # MF 835, clear tier
    (TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP010511.txt", "Mannitol"),
    (TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP011912.txt", "Quinine"),
])
def test_other_labs_spectra_are_identified(lib, path, compound):
    v = only(lib, path).conclusion
    assert (v.status, v.compound) == ("identified", compound), v.reason
    assert "next compound" in v.reason and "peaks matched" in v.reason


def test_quinine_names_its_diastereomer(lib):
    v = only(lib, TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP011912.txt").conclusion
    assert "Quinidine" in v.stereo_isomers


def test_new_analog_from_nist_library_is_identified(lib):
    v = named(lib, SINGLEMOD, "Cyclopentenyl fentanyl").conclusion
    assert (v.status, v.compound) == ("identified", "Cyclopentenyl fentanyl")


# --- tentative and no_match ---------------------------------------------------------------------

def test_rival_within_spread(lib):
    """A fentanyl replicate that scores beta-methylfentanyl 876 and fentanyl 873."""
    v = only(lib, NIST / "FentanylReplicates/457504.MSP").conclusion
    assert (v.status, v.rule) == ("tentative", "rival_within_spread")
    assert "Fentanyl" in v.candidates and "replicate spread" in v.reason


def test_below_threshold(lib):
    v = only(lib, TOKYO / "MSBNK-Fac_Eng_Univ_Tokyo-JP003100.txt").conclusion  # MF 758
    assert (v.status, v.rule, v.compound) == ("tentative", "below_threshold", "Acetaminophen")


def test_nothing_similar(lib):
    v = only(lib, NIST / "Type1Synthesize/463798.MSP").conclusion  # best MF 417
    assert (v.status, v.rule) == ("no_match", "nothing_similar")


def test_three_peak_component_of_a_narrow_scan_is_not_identified(lib):
    """yellow.D scanned m/z 100-299; its component at 204.44 s has peaks 267/265/254 only and
    scores N-Hydroxy-MDA TMS (base peak m/z 75) at MF 853."""
    report = fentid.identify(FORMATS / "agilent_d" / "yellow.D", lib)
    comp = min(report.components, key=lambda c: abs(c.retention_time_s - 204.44))
    assert abs(comp.retention_time_s - 204.44) < 0.5
    v = comp.conclusion
    assert v.status != "identified" and v.rule == "too_little_evidence"
    assert "m/z 100.1-299.2 scanned" in v.reason
    assert "peaks matched" in v.reason or "explained" in v.reason
    assert comp.hits[0]["evidence"]["range_mz"] == [100.1, 299.2]


def test_needs_clear_margin(lib):
    """P071 hexane at 106 s: MF 803 but isobutyl nitrite only 82 below."""
    report = fentid.identify(FORMATS / "netcdf_andi" / "P071.CDF", lib)
    comp = min(report.components, key=lambda c: abs(c.retention_time_s - 106.12))
    assert (comp.conclusion.status, comp.conclusion.rule) == ("tentative", "needs_clear_margin")


# --- isomers ------------------------------------------------------------------------------------

def test_structural_isomers_are_named_as_such(lib):
    """Crotonyl- and cyclopropylfentanyl share C23H28N2O; not a catalog positional group."""
    v = named(lib, SINGLEMOD, "Crotonyl fentanyl").conclusion
    assert (v.status, v.rule) == ("isomer_group", "isomers_within_spread")
    assert v.isomer_group == "structural isomers C23H28N2O"
    assert {"Crotonylfentanyl", "Cyclopropylfentanyl"} <= set(v.candidates)
    assert "structural isomers" in v.reason and "positional" not in v.reason.replace(
        "not positional isomers", "")


def test_catalog_positional_isomers_get_the_group_and_the_advice(lib):
    v = only(lib, SW34 / "4604.MSP").conclusion  # para-methylfentanyl
    assert (v.status, v.isomer_group) == ("isomer_group", "methylfentanyl (aniline ring)")
    assert "positional isomers" in v.reason and "NMR" in v.reason
    assert {"para-Methylfentanyl", "meta-Methylfentanyl"} <= set(v.candidates)


def test_catalog_isomers_missing_from_the_library(lib):
    v = only(lib, SW34 / "4534.MSP").conclusion  # para-chlorofentanyl; meta/ortho absent
    assert (v.status, v.rule) == ("isomer_group", "catalog_isomers_missing")
    assert {"meta-Chlorofentanyl", "ortho-Chlorofentanyl"} <= set(v.candidates)


def test_rmf_rule_applies_in_the_isomer_branch(lib):
    """The para-methylfentanyl hit list with the best RMF lowered to 500 is no group."""
    comp = only(lib, SW34 / "4604.MSP")
    hits = [dict(h) for h in lib.search(comp.component, None, 50)[2]]
    hits[0]["rmf"] = 500.0
    v = conclude(hits, knowledge=lib.knowledge("ei"), query=QueryFacts())
    assert (v.status, v.rule) == ("tentative", "below_threshold")
    assert "reverse score" in v.reason


# --- one compound, one retention time -------------------------------------------------------------

def test_p071_identifies_p_cymene_at_most_once(lib):
    report = fentid.identify(FORMATS / "netcdf_andi" / "P071.CDF", lib)
    cymene = [c for c in report.components if c.conclusion.compound == "p-Cymene"]
    assert sum(c.status == "identified" for c in cymene) <= 1
    demoted = [c for c in cymene if c.conclusion.rule == "one_retention_time_per_compound"]
    assert len(demoted) >= 3
    assert all("resolved retention times" in c.conclusion.reason for c in demoted)
    naph = [c for c in report.components if c.conclusion.compound == "2-Methylnaphthalene"]
    assert sum(c.status == "identified" for c in naph) <= 1


# --- ionisation ---------------------------------------------------------------------------------

def test_esi_run_is_not_searched_as_ei(lib):
    report = fentid.identify(FORMATS / "waters_raw" / "blue.raw", lib)
    assert report.components
    for comp in report.components:
        assert comp.technique == "ms1" and comp.algorithm not in ("identity", "reverse",
                                                                 "similarity")
        assert comp.peaks.metadata["ionization"] == "ESI"
        assert (comp.conclusion.status, comp.conclusion.rule) == ("no_match",
                                                                  "no_reference_spectra")
        assert "ESI" in comp.conclusion.reason


def test_esi_full_scan_against_msms_references_is_at_most_tentative(tmp_path):
    """An ESI product-ion record read as a full scan, against a library of MS/MS records
    that holds the same record: a cross-level comparison, never identified."""
    from fentid.components import Component
    from fentid.curation import import_sources
    from fentid.drivers import read
    from fentid.reference_library import create
    from fentid.spectra import gcms

    rec = MS / "MassBank-data/ACES_SU/MSBNK-ACES_SU-AS000088.txt"  # caffeine APCI MS2
    path = tmp_path / "msms.h5"
    create(path)
    import_sources(path, [rec])
    spec = read(rec).items[0]
    meta = {k: v for k, v in spec.metadata.items() if k not in ("precursor_mz",)}
    full = spec.replace(metadata={**meta, "ms_level": 1})
    comp = Component(name="as MS1", peaks=gcms.spectrum_to_peaks(full), spectrum=full)
    with fentid.open_library(path) as lib:
        from fentid.pipeline import identify_component

        report = identify_component(lib, comp, "as MS1")
    assert report.technique == "msms" and report.algorithm == "entropy"
    assert report.hits and report.hits[0]["compound"] == "Caffeine"
    assert (report.conclusion.status, report.conclusion.rule) == ("tentative",
                                                                  "cross_level_comparison")


# --- problems are reported ----------------------------------------------------------------------

BROKEN = """Name: Caffeine
Num Peaks: 3
109 300
82 200
194 999

Name: broken record
Num Peaks: 2
109 abc
194 999
"""


@pytest.mark.parametrize("command", ["identify", "search", "peaks"])
def test_msp_with_a_broken_record_exits_2_and_names_it(command, tmp_path, swgdrug_lib):
    src = tmp_path / "two.msp"
    src.write_text(BROKEN)
    extra = [] if command == "peaks" else ["--library", swgdrug_lib]
    proc = run_cli(command, src, *extra, "--json")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(src) in lines[0] and "record 2" in lines[0]
    out = json.loads(proc.stdout)
    assert out["problems"] and out["problems"][0]["record"] == 2
    if command == "identify":
        assert out["summary"]["problems"] == 1 and len(out["components"]) == 1


# --- curators reassign --------------------------------------------------------------------------

def test_library_reassign_is_audited(tmp_path):
    from fentid.curation import import_sources
    from fentid.reference_library import create

    path = tmp_path / "lib.h5"
    create(path)
    import_sources(path, [SW34 / "3670.MSP"])  # cocaine
    with Library.open(path) as lib:
        entry = lib.entries("ei")[0]
    assert entry["compound"] == "Cocaine"
    proc = run_cli("library", "reassign", path, str(entry["entry_id"]), "--compound",
                   "Levamisole", "--reason", "test: wrong compound", "--json")
    assert proc.returncode == 0, proc.stderr
    with Library.open(path) as lib:
        moved = lib.entry(entry["entry_id"])
        audit = lib.audit()[-1]
    assert moved["compound"] == "Levamisole" and moved["record_name"] == "Cocaine"
    detail = json.loads(audit["detail"])
    assert audit["action"] == "reassign" and detail["from"] == "Cocaine"
    assert detail["to"] == "Levamisole" and detail["reason"] == "test: wrong compound"
    again = run_cli("library", "reassign", path, str(entry["entry_id"]), "--compound",
                    "Levamisole", "--reason", "again")
    assert again.returncode == 2 and "already belongs" in again.stderr


def test_unreferenced_nmr_shifts_are_at_most_tentative(nmr_lib):
    """GABA 1H (Bruker, vendor-referenced) is identified against the nmrML GABA reference; the
    same hit list from a spectrum whose axis could not be referenced is only tentative."""
    with fentid.open_library(nmr_lib) as lib:
        report = fentid.identify(FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H", lib)
        comp = report.components[0]
        assert comp.spectrum.metadata["referenced"] == "vendor"
        assert comp.conclusion.status == "identified"
        assert comp.conclusion.inchikey.startswith("BTCSSZJGUNDROE")  # GABA
        for how in ("spectrometer", "unreferenced"):
            v = conclude(comp.hits, knowledge=lib.knowledge(comp.technique),
                         query=QueryFacts(technique=comp.technique, algorithm="nmr",
                                          nmr_referencing=how))
            assert (v.status, v.rule) == ("tentative", "unreferenced_shifts")
