"""NMR identification end to end: vendor NMR samples (Bruker FIDs) processed, picked and
searched against small NMR libraries built from other files of the same compounds.

Facts: the compound of each sample (formats/index.csv ``compound_or_sample``: GABA in D2O,
aspirin in CDCl3) and its structure; InChIKeys are computed here with RDKit from the SMILES,
not taken from fentid.
"""

from __future__ import annotations

import json

import pytest
from rdkit import Chem

from fentid.conclude import POLICIES
from fentid.pipeline import identify_samples
from tests.conftest import FORMATS, run_cli
from tests.library_fixtures import (  # noqa: F401 (pytest fixtures without "_fixture")
    ASICS_REFS,
    ASPIRIN_SMILES,
    GABA_SMILES,
    asics_lib_fixture,
    nmr_decoy_lib_fixture,
    nmr_lib_fixture,
    swgdrug_lib_fixture,
)
from tests.test_cli_identify import check_report

GABA_1H = FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H"
GABA_13C = FORMATS / "bruker_topspin/VZBBI_13R03_GABA/13C"
ASPIRIN_1H = FORMATS / "bruker_topspin/aspirin-1h/1"


def inchikey(smiles: str) -> str:
    return Chem.MolToInchiKey(Chem.MolFromSmiles(smiles))


GABA = inchikey(GABA_SMILES)
ASPIRIN = inchikey(ASPIRIN_SMILES)


def test_inchikeys_are_the_known_ones():
    assert GABA == "BTCSSZJGUNDROE-UHFFFAOYSA-N"
    assert ASPIRIN == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"


def test_cli_identifies_gaba_1h_13c_and_aspirin(nmr_lib):
    samples = [GABA_1H, GABA_13C, ASPIRIN_1H]
    proc = run_cli("identify", *samples, "--library", nmr_lib, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    check_report(report, samples)
    assert [s["driver"] for s in report["samples"]] == ["bruker"] * 3
    expected = {str(GABA_1H): GABA, str(GABA_13C): GABA, str(ASPIRIN_1H): ASPIRIN}
    comps = report["components"]
    assert [c["sample"] for c in comps] == [str(p) for p in samples]
    for comp in comps:
        truth = expected[comp["sample"]]
        assert comp["hits"][0]["inchikey"] == truth, comp["hits"][:3]
        assert comp["retention_time_s"] is None
        # NMR peak-list scores are 0..1 and have no NIST MF/RMF
        assert all(0 < h["score"] <= 1 and h["mf"] is None for h in comp["hits"])
        concl = comp["conclusion"]
        assert concl["status"] == "identified", concl
        assert concl["inchikey"] == truth and concl["isomer_group"] is None
    case = report["case"]
    assert case["techniques"] == ["NMR"] and case["swgdrug_categories"] == {"NMR": "A"}
    assert case["meets_swgdrug_minimum"] is False  # one technique


@pytest.mark.parametrize("sample", [GABA_1H, GABA_13C], ids=["1H", "13C"])
def test_decoy_only_library_never_identifies_gaba(nmr_decoy_lib, sample):
    report = identify_samples([sample], nmr_decoy_lib)
    (comp,) = report["components"]
    assert comp["conclusion"]["status"] in ("no_match", "tentative"), comp["conclusion"]
    assert all(h["inchikey"] != GABA for h in comp["hits"])
    # the decoys are other compounds: nothing scores like a real match
    assert not comp["hits"] or comp["hits"][0]["score"] < 0.5


def test_gaba_ranks_first_against_an_independent_600mhz_reference(asics_lib):
    """ASICS GABA (600 MHz, phosphate buffer) vs the MetaboHUB Bruker GABA (500 MHz, D2O),
    with structurally close amino/carboxylic acids from the same ASICS library."""
    report = identify_samples([GABA_1H], asics_lib)
    (comp,) = report["components"]
    hits = comp["hits"]
    assert len(hits) == len(ASICS_REFS) + 1
    assert hits[0]["inchikey"] == GABA, hits[:3]
    # the residual HDO signal (about half the picked 1H intensity of this sample) must not
    # count: without it the two acquisitions agree
    concl = comp["conclusion"]
    assert concl["status"] == "identified", concl
    assert concl["inchikey"] == GABA
    assert all(h["score"] < POLICIES["nmr"].tentative for h in hits[1:])


def test_aspirin_query_against_the_asics_library_does_not_pick_gaba(asics_lib):
    report = identify_samples([ASPIRIN_1H], asics_lib)
    (comp,) = report["components"]
    assert comp["hits"][0]["inchikey"] == ASPIRIN
    assert comp["conclusion"]["status"] == "identified"


def test_nmr_sample_against_an_ei_only_library_is_no_match(swgdrug_lib):
    report = identify_samples([GABA_1H], swgdrug_lib)
    (comp,) = report["components"]
    assert comp["hits"] == [] and comp["conclusion"]["status"] == "no_match"
    assert "nmr_1h" in comp["conclusion"]["reason"]


def test_library_add_takes_a_measured_bruker_fid(tmp_path):
    """Issue 4: ``fentid library add LIB FILE --compound ...`` for one measured spectrum.

    A lab's own reference is a vendor acquisition, so ``add`` must process and pick it
    as ``identify`` does; then the same compound's sample is identified against it.
    """
    lib = tmp_path / "own.h5"
    assert run_cli("library", "create", lib).returncode == 0
    proc = run_cli("library", "add", lib, GABA_13C, "--compound", GABA_SMILES, "--json")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)
    assert entry["technique"] == "nmr_13c" and entry["inchikey"] == GABA
    report = identify_samples([FORMATS / "nmrml/VZBBI_13R03_GABA_13C.nmrML"], lib)
    assert report["components"][0]["hits"][0]["inchikey"] == GABA


def test_solvent_and_standard_signals_are_left_out_of_nmr_search():
    from fentid.searching import without_solvent
    from fentid.spectra.model import PeakList

    peaks = PeakList([0.0, 1.90, 4.79, 7.26, 7.35], [5.0, 1.0, 9.0, 2.0, 1.0], unit="ppm",
                     technique="nmr", nucleus="1H")
    assert without_solvent(peaks, "D2O").position.tolist() == [1.90, 7.26, 7.35]
    assert without_solvent(peaks, "CDCl3").position.tolist() == [1.90, 4.79, 7.35]
    assert without_solvent(peaks, "D2O", "CDCl3").position.tolist() == [1.90, 7.35]
    assert without_solvent(peaks, None).position.tolist() == [1.90, 4.79, 7.26, 7.35]
