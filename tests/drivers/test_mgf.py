"""MGF driver: real files, facts from formats/index.csv, per-record problems."""

from __future__ import annotations

import json

import pytest

from fentid.drivers import read
from fentid.drivers.mgf import parse_charge, sniff
from fentid.drivers.registry import read_head
from fentid.errors import CorruptDataError
from tests.conftest import FORMATS, run_cli

SMALL = FORMATS / "mgf/mzdata/small.mgf"
PESTICIDES = FORMATS / "mgf/matchms/pesticides.mgf"


def _sample_files():
    return sorted(p for p in FORMATS.rglob("*") if p.is_file() and "expected" not in p.parts
                  and p.name not in ("index.csv", "SHA1SUMS"))


def test_sniff_claims_exactly_the_mgf_samples():
    claimed = {p for p in _sample_files() if sniff(p, read_head(p))}
    assert claimed == {SMALL, PESTICIDES}


def test_small_mgf_35_spectra_through_cli():
    proc = run_cli("info", "--json", SMALL)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["driver"] == "mgf"
    assert report["n_spectra"] == 35
    assert report["problems"] == []


def test_pesticides_facts():
    ds = read(PESTICIDES)
    assert len(ds.items) == 76 and not ds.problems
    assert ds.metadata["ms_levels"] == {2: 76}
    first = ds.items[0]
    assert first.metadata["precursor_mz"] == 183.057
    assert first.metadata["vendor"]["SPECTRUMID"] == "CCMSLIB00001058235"
    assert first.metadata["name"].startswith("Pesticide6_Fuberidazole")
    assert first.metadata["polarity"] == "negative"
    assert first.centroided and first.provenance.record == 1


def test_small_first_record_header():
    first = read(SMALL).items[0]
    # file: TITLE=small.3.3. RTINSECONDS=0.6731 PEPMASS=810.789428710938 183838.71875
    assert first.metadata["name"] == "small.3.3."
    assert first.metadata["retention_time_s"] == 0.6731
    assert first.metadata["precursor_mz"] == 810.789428710938
    assert first.metadata["precursor_intensity"] == 183838.71875
    assert first.axis[0] == 231.3888397 and first.intensities[0] == 26.5451126099


def test_last_record_charge_before_pepmass():
    last = read(SMALL).items[-1]
    assert last.metadata["name"] == "charge before pepmass"
    assert last.metadata["precursor_charge"] == 2
    assert last.metadata["precursor_mz"] == 475.137295


@pytest.mark.parametrize("text, charge", [
    ("2+", 2), ("+2", 2), ("3-", -3), ("1", 1), ("2+ and 3+", 2), ("-1", -1),
])
def test_parse_charge(text, charge):
    assert parse_charge(text) == charge


def _records(path):
    text = path.read_text()
    blocks = text.split("BEGIN IONS")
    return blocks[0], ["BEGIN IONS" + b for b in blocks[1:]]


def test_broken_records_reported_others_read(tmp_path):
    head, recs = _records(SMALL)
    recs[2] = recs[2].replace("\n231.", "\n231.x", 1) if "\n231." in recs[2] else recs[2] + "x"
    lines = recs[4].splitlines()
    lines.insert(5, "not a peak")
    recs[4] = "\n".join(lines) + "\n"
    recs[-1] = recs[-1].replace("END IONS", "")
    broken = tmp_path / "broken.mgf"
    broken.write_text(head + "".join(recs))
    ds = read(broken)
    assert len(ds.items) == 32
    numbers = [p.record for p in ds.problems]
    assert numbers == [3, 5, 35]
    assert "END IONS" in str(ds.problems[-1])
    proc = run_cli("info", broken)
    # the readable records are described, the bad ones listed, and exit code 2 flags them
    assert proc.returncode == 2
    assert proc.stdout.count("problem: record") == 3
    assert "3 record(s)" in proc.stderr


def test_all_records_broken_is_an_error(tmp_path):
    broken = tmp_path / "broken.mgf"
    broken.write_text("BEGIN IONS\nPEPMASS=100\n1.0 abc\nEND IONS\n")
    with pytest.raises(CorruptDataError, match="record 1"):
        read(broken)
    proc = run_cli("info", broken)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_global_parameters_apply_to_records(tmp_path):
    path = tmp_path / "g.mgf"
    path.write_text("CHARGE=2+\nBEGIN IONS\nPEPMASS=500.5\n300 10\n200 5\nEND IONS\n"
                    "BEGIN IONS\nCHARGE=3-\nPEPMASS=400\n100 1\nEND IONS\n")
    ds = read(path)
    assert [s.metadata["precursor_charge"] for s in ds.items] == [2, -3]
    assert list(ds.items[0].axis) == [200.0, 300.0]  # sorted
