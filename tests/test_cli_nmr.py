"""`fentid info` / `fentid peaks` on real Bruker folders and bad input, through the CLI."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from tests.conftest import FORMATS, load_index, run_cli

BRUKER = FORMATS / "bruker_topspin"
ROWS = {r["path"]: r for r in load_index("formats/index.csv")
        if r["path"].startswith("bruker_topspin/")}


def fact(row: str, key: str) -> str:
    match = re.search(rf"(?<![\w.$(]){re.escape(key)}=([^;\s)]+)", ROWS[row]["facts"])
    if match is None:
        raise KeyError(f"{key} not in facts of {row}")
    return match.group(1)


def info(path) -> dict:
    proc = run_cli("info", "--json", path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_info_aspirin_header_facts():
    out = info(BRUKER / "aspirin-1h/1")
    assert set(out) >= {"path", "driver", "technique", "nucleus", "spectrometer_frequency_mhz",
                        "points", "dimensions", "solvent", "header"}
    assert out["driver"] == "bruker" and out["technique"] == "nmr"
    assert out["spectrometer_frequency_mhz"] == pytest.approx(300.13225, abs=1e-5)
    assert out["points"] == 16384
    assert out["nucleus"] == "1H" and out["dimensions"] == 1 and out["solvent"] == "CDCl3"
    assert out["header"]["SW_h"] == pytest.approx(float(fact("bruker_topspin/aspirin-1h/1",
                                                             "SW_h")))


@pytest.mark.parametrize("row", ["bruker_topspin/VZBBI_13R03_GABA/13C",
                                 "bruker_topspin/VZBBI_13R03_GABA/1H",
                                 "bruker_topspin/cyclosporin_1h/1"])
def test_info_gaba_and_cyclosporin_facts(row):
    out = info(FORMATS / row)
    assert out["spectrometer_frequency_mhz"] == pytest.approx(float(fact(row, "SFO1")))
    assert out["points"] == int(fact(row, "TD"))
    assert out["nucleus"] == fact(row, "NUC1")
    assert out["solvent"] == fact(row, "SOLVENT")
    assert out["header"]["PULPROG"] == fact(row, "PULPROG")
    assert out["header"]["NS"] == int(fact(row, "NS"))


def test_info_2d_cosy_described():
    row = "bruker_topspin/cyclosporin_cosy/1"
    out = info(FORMATS / row)
    assert out["dimensions"] == 2
    assert out["points"] == int(fact(row, "TD(F2)"))
    assert out["spectrometer_frequency_mhz"] == pytest.approx(float(fact(row, "SFO1")))
    assert out["indirect"][0]["points"] == 128
    assert out["header"]["PULPROG"] == "cosygpqf"


def test_peaks_gaba_13c_json_matches_topspin():
    proc = run_cli("peaks", "--json", BRUKER / "VZBBI_13R03_GABA/13C")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["unit"] == "ppm" and out["nucleus"] == "13C"
    positions = np.array([p["position"] for p in out["peaks"]])
    assert all({"position", "intensity", "width", "snr"} <= set(p) for p in out["peaks"])
    for ppm in (184.356, 42.149, 37.176, 26.445):
        k = int(np.argmin(np.abs(positions - ppm)))
        assert abs(positions[k] - ppm) <= 0.02
        assert out["peaks"][k]["intensity"] > 0


def test_peaks_text_and_snr_option():
    proc = run_cli("peaks", "--snr", "50", BRUKER / "VZBBI_13R03_GABA/13C")
    assert proc.returncode == 0, proc.stderr
    assert "nucleus 13C" in proc.stdout and "37.1" in proc.stdout


def test_peaks_processed_only_folder():
    proc = run_cli("peaks", "--json", BRUKER / "aspirin-1h-processed/1")
    assert proc.returncode == 0, proc.stderr
    positions = [p["position"] for p in json.loads(proc.stdout)["peaks"]]
    assert min(abs(p - 2.2937) for p in positions) < 0.01


def test_peaks_on_2d_is_a_clear_error():
    proc = run_cli("peaks", BRUKER / "cyclosporin_cosy/1")
    assert proc.returncode == 2
    assert "2-D" in proc.stderr and "Traceback" not in proc.stderr


def _bad_inputs(tmp_path) -> dict:
    aspirin = BRUKER / "aspirin-1h/1"
    out = {}
    out["empty file"] = tmp_path / "empty.fid"
    out["empty file"].write_bytes(b"")
    out["random bytes"] = tmp_path / "random.bin"
    out["random bytes"].write_bytes(np.random.default_rng(0).bytes(4096))
    trunc = tmp_path / "truncated" / "1"
    trunc.mkdir(parents=True)
    shutil.copy(aspirin / "acqus", trunc / "acqus")
    (trunc / "fid").write_bytes((aspirin / "fid").read_bytes()[:20000])
    out["truncated fid"] = trunc
    acq = tmp_path / "acqus_only" / "1"
    acq.mkdir(parents=True)
    shutil.copy(aspirin / "acqus", acq / "acqus")
    out["acqus without data"] = acq
    out["empty folder"] = tmp_path / "empty_dir"
    out["empty folder"].mkdir()
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("shopping list\n")
    (unrelated / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    out["unrelated files"] = unrelated
    return out


EXPECT = {"empty file": "empty", "random bytes": "no driver recognises",
          "truncated fid": "TD=16384", "acqus without data": "no fid",
          "empty folder": "empty", "unrelated files": "no driver recognises"}


@pytest.mark.parametrize("command", ["info", "peaks"])
@pytest.mark.parametrize("case", sorted(EXPECT))
def test_bad_input_exit_2_one_line(tmp_path, command, case):
    path = _bad_inputs(tmp_path)[case]
    proc = run_cli(command, path)
    assert proc.returncode == 2, (case, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fentid: error: ")
    assert EXPECT[case] in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_peaks_min_relative_height_option_keeps_topspin_lines():
    from tests.spectra.test_peaks import topspin_peaklist

    folder = FORMATS / "bruker_topspin" / "aspirin-1h" / "1"
    topspin = topspin_peaklist(folder)
    proc = run_cli("peaks", "--json", "--min-relative-height", "0.001", folder)
    assert proc.returncode == 0, proc.stderr
    picked = np.array([p["position"] for p in json.loads(proc.stdout)["peaks"]])
    assert len(picked) <= 2 * len(topspin)
    assert all(np.min(np.abs(picked - ppm)) < 0.01 for ppm in topspin)
