"""The viewer on a real GC-MS run (Agilent yellow.D) and real EI spectra, against the
SWGDRUG 3.9 library built from the real MSP file.

Facts from ../shared/data (formats/index.csv, yellow.D row): data.ms holds 1307 scans of
m/z 100..299 (rainbow's info.json); SWGDRUG39.msp records are read by the tests' own MSP
parser (tests/library_fixtures.parse_msp), not by fentid.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from fentid.reference_library import Library
from tests.conftest import FORMATS, MS
from tests.gui.conftest import open_case
from tests.library_fixtures import (
    SWGDRUG,
    parse_msp,
    swgdrug_lib_fixture,  # noqa: F401 (fixture swgdrug_lib)
)

YELLOW = FORMATS / "agilent_d" / "yellow.D"
PARA_METHYL = MS / "SWGDRUG-3.4_NIST-EIMS-mass-predictions" / "4604.MSP"


@pytest.fixture(scope="module")
def swgdrug_records():
    return parse_msp(SWGDRUG)


@pytest.fixture()
def yellow(qtbot, swgdrug_lib, tmp_path):
    return open_case(qtbot, [YELLOW], swgdrug_lib, tmp_path / "case.jsonl")


def folder_sha256(path) -> str:
    """The documented folder digest (sorted manifest of per-file sha256), computed here."""
    lines = []
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        lines.append(f"{p.relative_to(path).as_posix()}\0"
                     f"{hashlib.sha256(p.read_bytes()).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def items_by_colour(plot) -> dict[str, np.ndarray]:
    """x data of the stick items of a plot, by pen colour (what is on screen)."""
    out: dict[str, list] = {}
    for item in plot.listDataItems():
        pen = item.opts.get("pen")
        if pen is None or not hasattr(pen, "color"):
            continue
        x = item.xData
        if x is None:
            continue
        out.setdefault(pen.color().name(), []).append(np.asarray(x)[::2])  # pairs: x twice
    return {k: np.sort(np.concatenate(v)) for k, v in out.items()}


def component_near(window, rt):
    return min(range(len(window.report.components)),
               key=lambda k: abs(window.report.components[k].retention_time_s - rt))


def test_tic_and_markers_are_the_runs(yellow):
    report = yellow.report
    tic_items = yellow.chromatogram.drawn["tic"]
    assert len(tic_items) == 1
    item, chrom = tic_items[0]
    assert item.xData.size == 1307  # data.ms scans (rainbow info.json: shape [1307, 199])
    np.testing.assert_array_equal(item.yData, chrom.tic)
    markers = yellow.chromatogram._markers
    assert len(markers.points()) == len(report.components)
    rts = sorted(p.pos().x() for p in markers.points())
    np.testing.assert_allclose(rts, sorted(c.retention_time_s for c in report.components))
    from fentid.gui.style import STATUS_COLOURS

    for p in markers.points():
        comp = report.components[p.data()]
        assert p.brush().color().name() == STATUS_COLOURS[comp.status]


def test_clicking_a_marker_selects_its_component(yellow, qtbot):
    k = component_near(yellow, 204.44)
    with qtbot.waitSignal(yellow.chromatogram.component_clicked):
        point = next(p for p in yellow.chromatogram._markers.points() if p.data() == k)
        yellow.chromatogram._clicked(None, [point])
    assert yellow.current == k
    assert yellow.component_table.currentIndex().row() == k


def test_spectrum_panel_draws_the_component_peaks(yellow):
    k = component_near(yellow, 204.44)
    yellow.select_component(k)
    comp = yellow.report.components[k]
    (item,) = [i for i in yellow.spectrum.listDataItems() if i.xData is not None]
    np.testing.assert_array_equal(item.xData[::2], comp.peaks.position)
    y = np.asarray(comp.peaks.intensity, float)
    np.testing.assert_allclose(item.yData[1::2], y / y.max() * 100)
    np.testing.assert_array_equal(item.yData[::2], 0)


def test_mirror_plot_sets_are_the_matched_and_unmatched_peaks(yellow, swgdrug_records):
    """Matched = the same nominal mass in both; computed here from the component's peaks
    and the reference record read from SWGDRUG39.msp by the tests' own parser."""
    k = component_near(yellow, 117.62)
    yellow.select_component(k)
    comp = yellow.report.components[k]
    hit = comp.hits[0]
    record = swgdrug_records[hit["source_record"] - 1]
    assert record["name"] == hit["record_name"]
    q = np.rint(np.asarray(comp.peaks.position)).astype(int)
    r = np.rint(record["mz"]).astype(int)
    common = set(q) & set(r)
    expected = {"matched_query": sorted(m for m in q if m in common),
                "query_only": sorted(m for m in q if m not in common),
                "matched_reference": sorted(m for m in r if m in common),
                "reference_only": sorted(m for m in r if m not in common)}
    sets = yellow.mirror.drawn["sets"]
    for name, values in expected.items():
        np.testing.assert_array_equal(np.sort(np.rint(sets[name])).astype(int), values, name)
    from fentid.gui import style

    on_screen = items_by_colour(yellow.mirror)
    np.testing.assert_array_equal(
        np.rint(on_screen[style.MATCHED]).astype(int),
        sorted(expected["matched_query"] + expected["matched_reference"]))
    np.testing.assert_array_equal(np.rint(on_screen[style.QUERY_ONLY]).astype(int),
                                  expected["query_only"])
    np.testing.assert_array_equal(np.rint(on_screen[style.REFERENCE_ONLY]).astype(int),
                                  expected["reference_only"])
    # the scanned range is shaded: yellow.D scanned m/z 100..299 (formats/index.csv)
    assert hit["evidence"]["range_mz"] == [100.1, 299.2]
    lo, hi = yellow.mirror.drawn_range
    assert (lo, hi) == (100.1, 299.2)
    assert yellow.mirror.drawn["data"].n_matched == len(expected["matched_reference"])


def test_extracted_ion_traces(yellow):
    yellow.ions.setText("m/z 245, 189")
    yellow._apply_ions()
    traces = yellow.chromatogram.drawn["traces"]
    assert sorted(traces) == [189.0, 245.0]
    run = yellow.report.components[0].chromatogram.run
    for mz, y in traces.items():
        # the trace is the summed intensity within 0.5 of mz, scan by scan, computed here
        expect = [float(run.intensity[run.offsets[i]:run.offsets[i + 1]][
            np.abs(run.mz[run.offsets[i]:run.offsets[i + 1]] - mz) <= 0.5].sum())
            for i in range(run.n_scans)]
        np.testing.assert_allclose(y, expect)
    yellow.ions.setText("m/z abc")
    yellow._apply_ions()
    assert "not a list of m/z values" in yellow.last_error


def test_decision_round_trips_through_the_append_only_case_record(yellow, qtbot, swgdrug_lib,
                                                                  tmp_path):
    case = tmp_path / "case.jsonl"
    k = component_near(yellow, 204.44)
    yellow.select_component(k)
    yellow.decision.analyst.setText("A. Analyst")
    yellow.decision.comment.setPlainText("three peaks only")
    yellow.component_table.setFocus()
    with qtbot.waitSignal(yellow.decision_recorded):
        qtbot.keyClick(yellow, Qt.Key.Key_A)
    first = case.read_bytes()
    lines = first.decode().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    comp = yellow.report.components[k]
    with Library.open(swgdrug_lib) as lib:
        version, checksum = lib.library_version, lib.checksum
    assert line["decision"] == "accept" and line["analyst"] == "A. Analyst"
    assert line["comment"] == "three peaks only"
    assert line["inputs"] == [{"path": str(YELLOW), "sha256": folder_sha256(YELLOW),
                               "driver": "agilent"}]
    assert line["library"]["path"] == str(swgdrug_lib)
    assert (line["library"]["library_version"], line["library"]["checksum"]) == (version,
                                                                                 checksum)
    import fentid

    assert line["fentid_version"] == fentid.__version__
    assert line["conclusion_shown"] == comp.conclusion.to_dict()
    assert line["hit_shown"]["entry_id"] == comp.hits[0]["entry_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line["when"])
    assert line["prev_sha256"] is None

    with qtbot.waitSignal(yellow.decision_recorded):
        qtbot.keyClick(yellow, Qt.Key.Key_R)
    data = case.read_bytes()
    assert data.startswith(first)  # nothing rewritten
    second = json.loads(data.decode().splitlines()[1])
    assert second["decision"] == "reject"
    assert second["prev_sha256"] == hashlib.sha256(lines[0].encode()).hexdigest()
    assert "reject" in yellow.components.data(yellow.components.index(k, 5))

    # reopening the case shows the latest decision and keeps the history
    again = open_case(qtbot, [YELLOW], swgdrug_lib, case)
    assert again.decisions[k]["decision"] == "reject"
    assert "reject" in again.components.data(again.components.index(k, 5))
    again.select_component(k)
    assert "1 earlier decision" in again.decision.status.text()
    assert not again.contents.problems

    # an edited line breaks the chain, and the record says so
    edited = data.replace(b"three peaks only", b"four peaks only")
    case.write_bytes(edited)
    from fentid.gui.case_record import CaseRecord

    assert any("line 2" in p for p in CaseRecord(case).read().problems)


def test_no_decision_without_the_analyst_name(yellow, tmp_path):
    yellow.decision.analyst.setText("")
    assert yellow.decide("accept") is None
    assert "analyst" in yellow.last_error
    assert not (tmp_path / "case.jsonl").exists()


def test_arrow_keys_move_between_components(yellow, qtbot):
    yellow.select_component(3)
    yellow.component_table.setFocus()
    qtbot.keyClick(yellow.component_table, Qt.Key.Key_Down)
    assert yellow.current == 4
    qtbot.keyClick(yellow, Qt.Key.Key_Left)
    assert yellow.current == 3


def pdf_pages(path) -> int:
    """Page objects in a PDF (``/Type /Page``, not ``/Pages``), and the tree's /Count."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    counts = [int(c) for c in re.findall(rb"/Count\s+(\d+)", data)]
    assert pages == max(counts)
    return pages


def test_case_report_pdf_html_and_plot_exports(yellow, tmp_path, qtbot, monkeypatch):
    k = component_near(yellow, 46.18)  # a no_match component, decided: it gets a page
    assert yellow.report.components[k].status == "no_match"
    yellow.select_component(k)
    yellow.decision.analyst.setText("A. Analyst")
    yellow.decide("inconclusive")
    reported = [i for i, c in enumerate(yellow.report.components)
                if c.status != "no_match" or i == k]
    pdf = tmp_path / "report.pdf"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(pdf), ""))
    qtbot.keyClick(yellow, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Ctrl+E
    assert pdf_pages(pdf) == 1 + len(reported)
    html = yellow.export_report(tmp_path / "report.html").read_text()
    for i in reported:
        assert f"Component {i + 1}: {yellow.report.components[i].name}" in html
    assert html.count("data:image/png;base64,") == len(reported)
    assert "inconclusive" in html and folder_sha256(YELLOW) in html
    png = yellow.export_plot("mirror", tmp_path / "mirror.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = yellow.export_plot("spectrum", tmp_path / "spectrum.svg").read_text()
    assert "<svg" in svg and "</svg>" in svg


def test_isomer_group_structures_and_side_by_side_compare(qtbot, swgdrug_lib, tmp_path):
    from rdkit import Chem

    window = open_case(qtbot, [PARA_METHYL], swgdrug_lib, tmp_path / "c.jsonl")
    comp = window.report.components[0]
    assert comp.status == "isomer_group"
    drawings = window.structures.drawings
    assert [d.name for d in drawings] == comp.conclusion.candidates
    assert all(d.png and d.png[:8] == b"\x89PNG\r\n\x1a\n" for d in drawings)
    # the part that differs: the ring methyl (a carbon with one neighbour, on an aromatic
    # ring), found here with RDKit on each candidate's SMILES
    for d in drawings:
        mol = Chem.MolFromSmiles(d.smiles)
        tolyl = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C"
                 and a.GetDegree() == 1 and a.GetNeighbors()[0].GetIsAromatic()]
        assert list(d.highlighted_atoms) == tolyl
    assert len(window.compare.plots) == min(3, len(comp.hits))
    names = [p.plotItem.titleLabel.text for p in window.compare.plots]
    assert all(h["compound"] in n for h, n in zip(comp.hits, names, strict=False))


def test_screenshot_command(swgdrug_lib, tmp_path):
    import struct

    from tests.conftest import run_cli

    out = tmp_path / "shot.png"
    done = run_cli("view", YELLOW, "--library", swgdrug_lib, "--case", tmp_path / "c.jsonl",
                   "--screenshot", out, "--component", "25", "--size", "1200x800")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 800)
    bad = run_cli("view", YELLOW, "--library", swgdrug_lib, "--screenshot", out,
                  "--component", "99")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("fentid: error:") and "43 components" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_missing_gui_extra_is_one_line_with_the_pip_command():
    import subprocess
    import sys

    code = ("import sys; sys.modules['PySide6'] = None; from fentid.cli import main; "
            "sys.exit(main(['view']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "pip install 'fentid[gui]'" in done.stderr
