"""``fentid identify`` end to end: complete reports for GC-MS runs (Agilent .D, ANDI netCDF),
MSP files of unknowns and NMR samples, the SWGDRUG case view, and clean errors for bad input.

Facts come from formats/index.csv (retention-time ranges), the netCDF files themselves (read
with scipy, not fentid), ms/index.csv (replicate compounds) and hashlib (sample checksums).
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from scipy.io import netcdf_file

from tests.conftest import FORMATS, MS, load_index, run_cli
from tests.library_fixtures import (  # noqa: F401 (pytest fixtures without "_fixture")
    nmr_lib_fixture,
    parse_msp,
    swgdrug_lib_fixture,
)

HIT_KEYS = {"rank", "entry_id", "compound", "record_name", "inchikey", "score", "mf", "rmf",
            "source_record", "source", "licence", "evidence"}
CONCLUSION_KEYS = {"status", "compound", "inchikey", "record_name", "isomer_group", "reason",
                   "candidates", "rule", "limitations", "stereo_isomers"}
STATUSES = {"identified", "isomer_group", "tentative", "no_match"}

HP_MS = FORMATS / "netcdf_andi/HP_MS.CDF"
P071 = FORMATS / "netcdf_andi/P071.CDF"
YELLOW = FORMATS / "agilent_d/yellow.D"
GABA_1H = FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H"
MONA_UNKNOWNS = FORMATS / "msp/matchms/MoNA-export-GC-MS-first10.msp"
GCMS = {"agilent_d/yellow.D": "agilent", "netcdf_andi/HP_MS.CDF": "andi",
        "netcdf_andi/P071.CDF": "andi"}


def _identify(*args) -> dict:
    proc = run_cli("identify", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rt_range_s(rel: str) -> tuple[float, float]:
    """First and last scan time (s): netCDF read with scipy; .D from the index facts."""
    path = FORMATS / rel
    if rel.endswith(".CDF"):
        with netcdf_file(path, "r", mmap=False) as nc:
            t = np.array(nc.variables["scan_acquisition_time"][:], float)
        return float(t.min()), float(t.max())
    facts = {r["path"]: r["facts"] for r in load_index("formats/index.csv")}[rel]
    lo, hi = re.search(r"RT ([\d.]+) \.\. ([\d.]+) min", facts).groups()
    return float(lo) * 60, float(hi) * 60


def check_report(report: dict, samples: list[str]) -> None:
    """Everything issue 5 says an identify report holds, with consistent values."""
    assert [s["path"] for s in report["samples"]] == [str(p) for p in samples]
    for s in report["samples"]:
        assert {"path", "driver", "sha256"} <= set(s)
        assert re.fullmatch(r"[0-9a-f]{64}", s["sha256"])
    assert report["components"], "no components"
    for comp in report["components"]:
        assert {"name", "sample", "retention_time_s", "hits", "conclusion"} <= set(comp)
        assert comp["name"] and comp["sample"] in [s["path"] for s in report["samples"]]
        hits = comp["hits"]
        for hit in hits:
            assert set(hit) == HIT_KEYS
        assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)
        concl = comp["conclusion"]
        assert CONCLUSION_KEYS <= set(concl)
        assert concl["status"] in STATUSES and concl["reason"]
        if concl["status"] == "identified":
            assert hits and concl["compound"] == hits[0]["compound"]
            assert concl["inchikey"] == hits[0]["inchikey"]
        if concl["status"] == "isomer_group":
            assert concl["isomer_group"]
    case = report["case"]
    assert {"techniques", "swgdrug_categories", "meets_swgdrug_minimum", "limitations"} \
        <= set(case)
    assert set(case["swgdrug_categories"]) == set(case["techniques"])
    assert isinstance(case["meets_swgdrug_minimum"], bool)
    assert case["limitations"] and all(isinstance(x, str) and x for x in case["limitations"])


@pytest.fixture(scope="module")
def gcms_reports(swgdrug_lib):
    return {rel: _identify(FORMATS / rel, "--library", swgdrug_lib) for rel in GCMS}


@pytest.mark.parametrize("rel", sorted(GCMS))
def test_gcms_identify_report_is_complete(gcms_reports, rel):
    report = gcms_reports[rel]
    check_report(report, [FORMATS / rel])
    assert report["samples"][0]["driver"] == GCMS[rel]
    if (FORMATS / rel).is_file():
        assert report["samples"][0]["sha256"] == _sha256(FORMATS / rel)
    lo, hi = _rt_range_s(rel)
    rts = [c["retention_time_s"] for c in report["components"]]
    assert all(lo - 1e-6 <= rt <= hi + 1e-6 for rt in rts)
    assert rts == sorted(rts)
    # one technique only: SWGDRUG's minimum cannot be met, and the report says why
    case = report["case"]
    assert case["techniques"] == ["MS"] and case["swgdrug_categories"] == {"MS": "A"}
    assert case["meets_swgdrug_minimum"] is False
    assert any("one technique" in x.lower() for x in case["limitations"])


def test_identify_text_is_the_default_and_out_writes_the_file(gcms_reports, swgdrug_lib,
                                                              tmp_path):
    report = gcms_reports["netcdf_andi/HP_MS.CDF"]
    proc = run_cli("identify", HP_MS, "--library", swgdrug_lib)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert not text.lstrip().startswith("{")
    assert str(HP_MS) in text and report["samples"][0]["sha256"] in text
    # the summary counts every component; unmatched ones share one line, the rest get a block
    counts = report["summary"]["counts"]
    assert sum(counts.values()) == len(report["components"])
    assert f"components: {len(report['components'])} (" in text
    quiet = [c for c in report["components"] if c["conclusion"]["status"] == "no_match"]
    assert text.count("Conclusion:") == len(report["components"]) - len(quiet)
    if quiet:
        assert f"No match ({len(quiet)} components)" in text
    for comp in report["components"]:
        if comp["conclusion"]["status"] != "no_match":
            assert comp["conclusion"]["status"].upper() in text
    assert "NO_MATCH: -" not in text and "[, ]" not in text
    assert "SWGDRUG" in text

    out = tmp_path / "report.json"
    proc = run_cli("identify", HP_MS, "--library", swgdrug_lib, "--json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    written = json.loads(out.read_text())
    assert written["components"] == report["components"]
    assert written["samples"] == report["samples"]


def test_msp_of_unknowns_gives_one_component_per_spectrum(swgdrug_lib):
    report = _identify(MONA_UNKNOWNS, "--library", swgdrug_lib)
    check_report(report, [MONA_UNKNOWNS])
    names = [r["name"] for r in parse_msp(MONA_UNKNOWNS)]
    assert len(names) == 10
    assert [c["name"] for c in report["components"]] == names
    assert report["samples"][0]["sha256"] == _sha256(MONA_UNKNOWNS)
    assert report["samples"][0]["driver"] == "msp"


def test_replicates_are_never_identified_as_another_compound(swgdrug_lib):
    """Issue 5's target: no wrong ``identified``.  An isomer group must contain the truth,
    and compounds absent from the library are at most tentative."""
    rows = [r for r in load_index("ms/index.csv")
            if r["file"].startswith("NIST-FentanylClassifier/ExampleQuerySpectra/")]
    in_library = {r["fields"].get("inchikey") for r in
                  parse_msp(MS / "SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp")}
    assert len(rows) == 10 and sum(r["inchikey"] in in_library for r in rows) == 6
    report = _identify(*[MS / r["file"] for r in rows], "--library", swgdrug_lib)
    check_report(report, [MS / r["file"] for r in rows])
    for row, comp in zip(rows, report["components"], strict=True):
        concl = comp["conclusion"]
        if row["inchikey"] not in in_library:
            # derivatives SWGDRUG39 does not hold: nothing, not even a group, may be claimed
            assert concl["status"] in ("no_match", "tentative"), (row["file"], concl)
            continue
        if concl["status"] == "identified":
            assert concl["inchikey"] == row["inchikey"], (row["file"], concl)
        if concl["status"] == "isomer_group":
            keys = {h["inchikey"] for h in comp["hits"] if h["compound"] in concl["candidates"]}
            assert row["inchikey"] in keys, (row["file"], concl)


def test_gcms_plus_nmr_case_lists_both_techniques(nmr_lib):
    report = _identify(HP_MS, GABA_1H, "--library", nmr_lib)
    check_report(report, [HP_MS, GABA_1H])
    drivers = {s["path"]: s["driver"] for s in report["samples"]}
    assert drivers == {str(HP_MS): "andi", str(GABA_1H): "bruker"}
    case = report["case"]
    assert case["techniques"] == ["MS", "NMR"]
    assert case["swgdrug_categories"] == {"MS": "A", "NMR": "A"}
    nmr = [c for c in report["components"] if c["sample"] == str(GABA_1H)]
    assert len(nmr) == 1 and nmr[0]["conclusion"]["status"] == "identified"
    assert nmr[0]["conclusion"]["inchikey"] == "BTCSSZJGUNDROE-UHFFFAOYSA-N"  # GABA
    # the GC-MS demo run holds no GABA: the two techniques do not support one compound
    assert case["meets_swgdrug_minimum"] is False
    assert any("do not agree" in x for x in case["limitations"])


# --- bad input: exit 2, one line on stderr, no traceback ----------------------------------

def _bad_inputs(tmp_path, swgdrug_lib):
    rng = np.random.default_rng(20261129)
    random_file = tmp_path / "random.msp"
    random_file.write_bytes(rng.bytes(4096))
    empty = tmp_path / "empty.msp"
    empty.write_bytes(b"")
    not_hdf5 = tmp_path / "library.h5"
    not_hdf5.write_text("this is not a library\n")
    return {
        "missing library": ((HP_MS, "--library", tmp_path / "nope.h5"), "nope.h5"),
        "library not HDF5": ((HP_MS, "--library", not_hdf5), "library.h5"),
        "random bytes": ((random_file, "--library", swgdrug_lib), "random.msp"),
        "empty MSP": ((empty, "--library", swgdrug_lib), "empty.msp"),
    }


@pytest.mark.parametrize("command", ["search", "identify"])
@pytest.mark.parametrize("kind", ["missing library", "library not HDF5", "random bytes",
                                  "empty MSP"])
def test_bad_input_is_one_line_and_exit_2(command, kind, tmp_path, swgdrug_lib):
    args, names = _bad_inputs(tmp_path, swgdrug_lib)[kind]
    proc = run_cli(command, *args, "--json")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("fentid: error: ")
    assert names in proc.stderr and "Traceback" not in proc.stderr


def test_conclusion_does_not_depend_on_how_many_hits_are_shown(swgdrug_lib):
    """A rival within the replicate spread counts even when the report shows one hit."""
    from fentid.pipeline import identify_samples

    query = MS / "NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP"
    shown_one = identify_samples([query], swgdrug_lib, top=1)["components"][0]
    shown_ten = identify_samples([query], swgdrug_lib, top=10)["components"][0]
    assert len(shown_one["hits"]) == 1 and len(shown_ten["hits"]) == 10
    assert shown_one["conclusion"] == shown_ten["conclusion"]
