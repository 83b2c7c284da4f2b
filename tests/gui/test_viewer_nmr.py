"""The viewer on a real Bruker 1H experiment (GABA, formats/bruker_topspin/VZBBI_13R03_GABA/1H)
against a library holding GABA's nmrML references; Cancel on a long read; the library tab.

Facts from formats/index.csv (the Bruker row): SOLVENT=D2O, TSP reference; TopSpin's
peak list has the three GABA triplets at 3.0331/3.0181/3.0028, 2.3192/2.3045/2.2897 and
1.9224/1.9074/1.8924 ppm and TSP at -0.0002 ppm.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from fentid.reference_library import Library
from tests.conftest import FORMATS, MS, ROOT
from tests.gui.conftest import open_case
from tests.library_fixtures import (  # noqa: F401 (fixtures swgdrug_lib, nmr_lib)
    nmr_lib_fixture,
    swgdrug_lib_fixture,
)

GABA_1H = FORMATS / "bruker_topspin" / "VZBBI_13R03_GABA" / "1H"
TOPSPIN_LINES = (3.0331, 3.0181, 3.0028, 2.3192, 2.3045, 2.2897, 1.9224, 1.9074, 1.8924)
TRIPLETS = ((3.0331, 3.0028), (2.3192, 2.2897), (1.9224, 1.8924))


@pytest.fixture()
def gaba(qtbot, nmr_lib, tmp_path):
    return open_case(qtbot, [GABA_1H], nmr_lib, tmp_path / "case.jsonl")


def test_nmr_spectrum_is_drawn_on_an_inverted_ppm_axis(gaba):
    comp = gaba.report.components[0]
    assert comp.technique == "nmr_1h"
    assert gaba.spectrum.getViewBox().xInverted()
    assert gaba.mirror.getViewBox().xInverted()
    assert not gaba.chrom_box.isVisibleTo(gaba)  # no run, no chromatogram
    line = gaba.spectrum.drawn["line"]
    np.testing.assert_array_equal(line.xData, comp.spectrum.axis)
    np.testing.assert_array_equal(line.yData, comp.spectrum.intensities)
    assert line.opts["autoDownsample"] and line.opts["clipToView"]
    (markers,) = [i for i in gaba.spectrum.listDataItems() if i.opts.get("symbol") == "t"]
    np.testing.assert_array_equal(markers.xData, comp.peaks.position)
    for ppm in TOPSPIN_LINES:  # every TopSpin line of the three triplets is marked
        assert np.min(np.abs(markers.xData - ppm)) < 0.005, ppm


def test_solvent_reference_and_integrals_are_named(gaba):
    labels = gaba.spectrum.drawn["labels"]
    assert labels["solvent"] == "D2O" and labels["solvent_ppm"] == 4.79
    texts = [i.textItem.toPlainText() for i in gaba.spectrum.plotItem.items
             if hasattr(i, "textItem")]
    assert "HDO 4.79" in texts and "0 ppm (TMS/DSS/TSP)" in texts
    assert "D2O" in gaba.spectrum.plotItem.titleLabel.text
    # GABA's three CH2 triplets integrate alike (2 H each)
    integrals = gaba.spectrum.drawn["integrals"]
    areas = []
    for hi, lo in TRIPLETS:
        (r,) = [r for r in integrals if r["low"] <= lo and r["high"] >= hi]
        areas.append(r["area"])
    assert max(areas) / min(areas) < 1.15, areas


def test_nmr_mirror_overlays_the_reference_with_matched_peaks(gaba, nmr_lib):
    comp = gaba.report.components[0]
    hit = comp.hits[0]
    assert hit["record_name"] == "VZBBI_13R03_GABA_1H"
    with Library.open(nmr_lib) as lib:
        ref = lib.entry_peaklist(hit["entry_id"])
        profile = lib.profile(hit["entry_id"])
    q, r = np.asarray(comp.peaks.position), np.asarray(ref.position)
    # brute force: a peak is matched when the other list has one within 0.03 ppm
    q_hit = np.array([np.any(np.abs(r - x) <= 0.03) for x in q])
    r_hit = np.array([np.any(np.abs(q - x) <= 0.03) for x in r])
    sets = gaba.mirror.drawn["sets"]
    np.testing.assert_array_equal(np.sort(sets["matched_query"]), np.sort(q[q_hit]))
    np.testing.assert_array_equal(np.sort(sets["query_only"]), np.sort(q[~q_hit]))
    np.testing.assert_array_equal(np.sort(sets["matched_reference"]), np.sort(r[r_hit]))
    np.testing.assert_array_equal(np.sort(sets["reference_only"]), np.sort(r[~r_hit]))
    # the reference's stored spectrum is drawn below the axis on the same ppm scale
    # scaled to its tallest line outside HDO (4.79 ppm +- 0.12, the search's D2O window)
    axis, y = np.asarray(profile[0], float), np.asarray(profile[1], float)
    top = y[np.abs(axis - 4.79) > 0.12].max()
    below = [i for i in gaba.mirror.listDataItems() if i.xData is not None
             and i.xData.size == axis.size and np.array_equal(i.xData, axis)
             and np.allclose(i.yData, -y / top * 100)]
    assert len(below) == 1
    assert gaba.mirror.drawn.get("data").range_mz is None


def test_cancel_stops_a_long_read(qtbot, swgdrug_lib, tmp_path):
    """A generated 400 MB profile mzML (benchmarks/make_big_mzml.py): Cancel one second
    into the read ends the job within seconds, long before the read could finish."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_big_mzml",
                                                  ROOT / "benchmarks" / "make_big_mzml.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    big = tmp_path / "big.mzML"
    maker.write_big_mzml(big, size_bytes=400 << 20)
    from fentid.gui.window import MainWindow

    window = MainWindow(library=swgdrug_lib, case_path=tmp_path / "c.jsonl",
                        interactive=False)
    qtbot.addWidget(window)
    window.show()
    started = time.perf_counter()
    assert window.open_files([big])
    qtbot.wait(1000)
    assert window.runner.busy
    with qtbot.waitSignal(window.job_cancelled, timeout=10_000):
        window.cancel_button.click()
    stopped = time.perf_counter() - started
    window.runner.wait()
    assert window.report is None
    assert stopped < 6.0
    assert not window.progress.isVisible() and not window.runner.busy
    # the full read takes far longer than the time it took to stop
    import fentid

    t0 = time.perf_counter()
    fentid.read(big)
    assert time.perf_counter() - t0 > 2 * (stopped - 1.0)


def test_library_tab_browse_search_add_retire_reassign(qtbot, swgdrug_lib, tmp_path):
    from fentid.gui.window import MainWindow

    lib_path = tmp_path / "lib.h5"
    shutil.copyfile(swgdrug_lib, lib_path)
    window = MainWindow(library=lib_path, case_path=tmp_path / "c.jsonl", interactive=False)
    qtbot.addWidget(window)
    tab = window.library_tab
    assert tab.model.rowCount() == 3430
    tab.search.setText("methylfentanyl")
    shown = tab.visible_entries()
    assert shown and all("methylfentanyl" in (e["compound"] + e["record_name"]).lower()
                         for e in shown)
    tab.search.setText("")
    tab.technique.setCurrentText("ei")
    assert tab.proxy.rowCount() == 3430
    # view an entry: its peaks are the SWGDRUG record's (record 1748 is Cocaine)
    from tests.library_fixtures import SWGDRUG, parse_msp

    cocaine = parse_msp(SWGDRUG)[1747]
    assert tab.select_entry(1748)
    np.testing.assert_allclose(np.sort(tab.drawn["position"]), np.sort(cocaine["mz"]))
    assert "SWGDRUG39.msp" in tab.details.toPlainText()

    # add: a single-spectrum file is validated and stored (audited); a bad one is refused
    para = MS / "SWGDRUG-3.4_NIST-EIMS-mass-predictions" / "4604.MSP"
    entry = tab.add_from_file(para, "para-Methylfentanyl", licence="test data",
                              curator="pytest")
    assert entry is not None and entry["compound"] == "para-Methylfentanyl"
    assert tab.model.rowCount() == 3431
    assert f"added entry {entry['entry_id']}" in tab.messages.toPlainText()
    empty = tmp_path / "empty.msp"
    empty.write_text("")
    assert tab.add_from_file(empty, "Cocaine") is None
    assert "refused:" in tab.messages.toPlainText().splitlines()[-1]

    # retire and reassign need a reason and go through the writer (audited)
    assert not tab.retire(entry["entry_id"], " ")
    assert tab.retire(entry["entry_id"], "duplicate of record 2524", curator="pytest")
    assert tab.reassign(1748, "Pseudococaine", "test of the reassign path",
                        curator="pytest")["to"] == "Pseudococaine"
    with Library.open(lib_path) as lib:
        audit = lib.audit()
        assert lib.entry(entry["entry_id"])["retired"]
        assert lib.entry(1748)["compound"] == "Pseudococaine"
    actions = [(a["action"], a["entry_id"]) for a in audit[-3:]]
    assert actions == [("add", entry["entry_id"]), ("remove", entry["entry_id"]),
                       ("reassign", 1748)]
    assert "duplicate of record 2524" in audit[-2]["detail"]
    # the viewer searches the changed library from now on
    assert window.searcher.library_version == tab.version
