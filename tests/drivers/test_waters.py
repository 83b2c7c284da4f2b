"""Waters .raw driver (rainbow-api) vs rainbow's reference CSVs (formats/waters_raw/expected)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fentid.drivers import claimants, read
from fentid.errors import CorruptDataError
from tests.conftest import FORMATS, run_cli
from tests.drivers.test_agilent import load_reference_csv, rebin_like_rainbow

EXPECTED = FORMATS / "waters_raw/expected/rainbow_outputs"


@pytest.mark.parametrize("name", ["blue", "indigo"])
def test_ms_function_equals_rainbow_reference(name):
    columns, rt_min, matrix = load_reference_csv(EXPECTED / name / "_FUNC001.csv")
    ds = read(FORMATS / f"waters_raw/{name}.raw")
    run = ds.items[0]
    assert run.metadata["channel"] == "_FUNC001.DAT"
    np.testing.assert_allclose(run.retention_time_s / 60.0, rt_min, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rebin_like_rainbow(run, columns), matrix, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["blue", "indigo"])
def test_functions_and_channels_match_info_json(name):
    info = json.loads((EXPECTED / name / "info.json").read_text())
    ds = read(FORMATS / f"waters_raw/{name}.raw")
    ms = {r.metadata["channel"]: r for r in ds.items}
    described = {c["name"]: c for c in ds.metadata["channels"]}
    for fname, facts in info["datafiles"].items():
        if facts["detector"] == "MS":
            assert ms[fname].n_scans == facts["shape"][0]
            assert ms[fname].metadata["polarity"] == facts["metadata"]["polarity"]
        else:
            assert described[fname]["shape"] == facts["shape"]


def test_blue_header_facts():
    ds = read(FORMATS / "waters_raw/blue.raw")
    run = ds.items[0]
    assert run.metadata["instrument"] == "ACQ-SQD2#LCA217"  # _HEADER.TXT, index facts
    assert ds.metadata["header"]["SampleID"] == "5042373-0175-pl3-Noscapine11-pl1-1-001"
    assert run.metadata["ionization"] == "ESI"


@pytest.mark.parametrize("name", ["blue", "indigo"])
def test_claimed_by_waters_only(name):
    assert [d.name for d in claimants(FORMATS / f"waters_raw/{name}.raw")] == ["waters"]


def test_missing_index_file_is_corrupt(tmp_path):
    copy = tmp_path / "indigo.raw"
    shutil.copytree(FORMATS / "waters_raw/indigo.raw", copy)
    (copy / "_FUNC001.IDX").unlink()
    with pytest.raises(CorruptDataError, match=r"_FUNC001\.IDX"):
        read(copy)
    proc = run_cli("info", copy)
    assert proc.returncode == 2 and "_FUNC001.IDX" in proc.stderr
