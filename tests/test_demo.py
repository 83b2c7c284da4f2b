"""``fentid demo``: a seeded, realistic GC-MS case whose composition is the ground truth."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from scipy.io import netcdf_file

from fentid import demo
from tests.conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    proc = run_cli("demo", folder, "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    return folder, json.loads(proc.stdout)


def test_the_same_seed_writes_the_same_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    demo.write_case(a)
    demo.write_case(b)
    for name in ("seized-powder.cdf", "seized-powder.mzML"):
        assert hashlib.sha256((a / name).read_bytes()).digest() == \
            hashlib.sha256((b / name).read_bytes()).digest()
    c = tmp_path / "c"
    demo.write_case(c, seed=1)
    assert (c / "seized-powder.cdf").read_bytes() != (a / "seized-powder.cdf").read_bytes()


def test_composition_is_the_documented_ground_truth(case):
    folder, _ = case
    truth = json.loads((folder / "composition.json").read_text())
    names = [c["compound"] for c in truth["components"]]
    assert names == ["Caffeine", "Fentanyl", "3-Methylfentanyl", "N-Trifluoroacetyl-4-ANPP"]
    for c in truth["components"]:
        assert re.fullmatch(r"[A-Z]{14}-[A-Z]{10}-[A-Z]", c["inchikey"])
        assert {"compound", "inchikey", "retention_time_s", "in_library"} <= set(c)
    # the co-eluting pair
    rts = {c["compound"]: c["retention_time_s"] for c in truth["components"]}
    assert rts["3-Methylfentanyl"] - rts["Fentanyl"] == pytest.approx(7.0)


def test_both_files_are_the_same_run_read_by_other_software(case):
    """The ANDI file read with scipy, the mzML with pyteomics: same scans, same points."""
    from pyteomics import mzml

    folder, _ = case
    with netcdf_file(folder / "seized-powder.cdf", "r", mmap=False) as nc:
        times = np.array(nc.variables["scan_acquisition_time"][:])
        counts = np.array(nc.variables["point_count"][:])
        low = np.array(nc.variables["mass_range_min"][:])
        assert nc.test_ionization_mode == b"Electron Impact"
    assert np.all(low == 50)
    with mzml.read(str(folder / "seized-powder.mzML")) as reader:
        spectra = list(reader)
    assert len(spectra) == times.size
    assert [s["m/z array"].size for s in spectra] == counts.tolist()
    np.testing.assert_allclose([s["scanList"]["scan"][0]["scan start time"] for s in spectra],
                               times, atol=1e-3)


def test_report_names_the_known_components_and_identifies_nothing_wrong(case):
    _, out = case
    assert out["library"]["default"] is True
    rows = {r["compound"]: r for r in out["demo"]["check"]}
    assert all(r["right"] for r in rows.values()), rows
    assert rows["Caffeine"]["status"] == "identified"
    for name in ("Fentanyl", "3-Methylfentanyl"):
        assert rows[name]["concluded"] == name  # named; EI-MS leaves rivals: tentative
    assert rows["N-Trifluoroacetyl-4-ANPP"]["status"] != "identified"
    truth = {c["inchikey"].split("-")[0] for c in out["demo"]["composition"]["components"]
             if c["in_library"]}
    for comp in out["components"]:
        if comp["conclusion"]["status"] == "identified":
            assert comp["conclusion"]["inchikey"].split("-")[0] in truth


def test_text_demo_prints_the_report_and_the_check(tmp_path):
    proc = run_cli("demo", tmp_path / "d", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "fentid identification report" in proc.stdout
    assert "Known composition vs fentid's conclusions" in proc.stdout
    assert "WRONG" not in proc.stdout


def test_unwritable_demo_folder_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("demo", blocker / "sub", "-q")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert str(blocker / "sub") in proc.stderr


def test_readme_api_example_runs(tmp_path, monkeypatch):
    """The Python API example in the README, as written, on the demo case."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Python API.*?```python\n(.*?)```", text, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    demo.write_case(tmp_path / "fentid-demo")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 (the README's own example)
    assert scope["report"].summary()["counts"]["identified"] == 1
    assert scope["results"] and scope["problems"] == []
