"""1H mixture analysis of the street tablets (nmr-dataset-demo_xtc, 400 MHz, D2O).

Facts (nmr-dataset-demo_xtc/README.md): 888 is dominated by sugar signals; 1111a and 1675
show the MDMA pattern (aromatic about 6.8, OCH2O about 5.9, N-CH3 about 2.6 and a CH3
doublet about 1.2 ppm on the files' own scale, referenced to HDO).  The shared data hold no
MDMA reference, so its signals must stay unexplained and no compound may be named from them.
"""

from __future__ import annotations

import json

import pytest

from fentid.searching import LibrarySearcher
from fentid.spectra.nmr_mixture import analyse_file, lines_at_field
from tests.conftest import NMR, run_cli

XTC = NMR / "nmr-dataset-demo_xtc"
#: MDMA signals as the README gives them (ppm, the files' scale) and a window.
MDMA_PPM = (1.2, 2.6, 5.9, 6.8)
WINDOW = 0.1


@pytest.fixture(scope="module")
def results(shared_nmr_lib):
    with LibrarySearcher(shared_nmr_lib) as s:
        return {name: analyse_file(XTC / f"{name}_zg30.jdx", s)
                for name in ("XTC-888", "XTC-1111a", "XTC-1675")}


def test_lactose_is_named_in_the_sugar_tablet(results):
    r = results["XTC-888"]
    top = r["components"][0]
    assert top["compound"] == "Lactose" and top["status"] in ("identified", "tentative")
    assert top["molar_fraction"] > 0.5 and not top["predicted"]
    # HDO-referenced (4.70): the sample is moved onto the DSS scale of the references
    assert r["hdo_referenced"] and 0.05 < r["offset_ppm"] < 0.12


@pytest.mark.parametrize("name", ["XTC-1111a", "XTC-1675"])
def test_mdma_signals_are_reported_unexplained(results, name):
    r = results[name]
    for ppm in MDMA_PPM:
        assert any(abs(u - ppm) <= WINDOW for u in r["unexplained_ppm"]), (ppm, r[
            "unexplained_ppm"])
    # nothing is identified from them: every identified component is the excipient
    assert all(c["compound"] == "Lactose" for c in r["components"]
               if c["status"] == "identified")
    assert r["unexplained_fraction"] > 0.3


def test_molar_fractions_sum_to_one(results):
    for r in results.values():
        if r["components"]:
            assert sum(c["molar_fraction"] for c in r["components"]) == pytest.approx(1.0)


def test_lines_keep_their_j_at_another_field():
    """A 500 MHz doublet (J = 8 Hz) drawn at 400 MHz keeps 8 Hz between its lines."""
    pos, _ = lines_at_field([4.460, 4.476], [1, 1], 500.0, 400.0, "lines")
    assert (pos[1] - pos[0]) * 400.0 == pytest.approx(8.0)
    assert pos.mean() == pytest.approx(4.468)


def test_cli_mixture_json(shared_nmr_lib):
    proc = run_cli("mixture", XTC / "XTC-888_zg30.jdx", "--library", shared_nmr_lib, "--json")
    assert proc.returncode == 0, proc.stderr
    (res,) = json.loads(proc.stdout)
    assert res["components"][0]["compound"] == "Lactose"
    assert "unexplained" in res and res["field_mhz"] == pytest.approx(400.13, abs=0.01)
