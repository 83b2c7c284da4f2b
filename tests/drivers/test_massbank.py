"""MassBank record driver: every real record against its own PK$NUM_PEAK and ms/index.csv."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from fentid.drivers import claimants, read
from fentid.errors import CorruptDataError, DataQualityWarning
from tests.conftest import MS, load_index, run_cli

ROWS = {row["file"]: row for row in load_index("ms/index.csv")
        if row["file"].startswith("MassBank-data/")}
RECORDS = sorted(MS.glob("MassBank-data/*/MSBNK-*.txt"))
LEVELS = {"MS": 1, "MS2": 2, "MS3": 3}
ATHENS = MS / "MassBank-data/Athens_Univ/MSBNK-Athens_Univ-AU111701.txt"


def test_every_record_is_indexed():
    assert len(RECORDS) == len(ROWS) > 700
    assert {str(p.relative_to(MS)) for p in RECORDS} == set(ROWS)


def _tag(text: str, tag: str) -> str | None:
    m = re.search(rf"^{re.escape(tag)}\s*(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else None


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_record_matches_its_header_and_the_index(path):
    row = ROWS[str(path.relative_to(MS))]
    text = path.read_text(encoding="utf-8")
    assert [d.name for d in claimants(path)] == ["massbank"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        ds = read(path)
    (spec,) = ds.items
    meta = spec.metadata
    assert ds.problems == () and spec.provenance.record == 1
    assert len(spec) == int(_tag(text, "PK$NUM_PEAK:")) == int(row["n_peaks"])
    assert np.all(np.diff(spec.axis) > 0) and spec.centroided
    assert meta["accession"] == row["accession"] == _tag(text, "ACCESSION:")
    assert meta["name"] == row["compound_name"]
    assert meta["licence"] == row["license"]
    assert meta["ms_level"] == LEVELS[row["ms_level"]]
    assert meta["ionization"] == row["ionization"]
    if _tag(text, "CH$LINK: INCHIKEY"):  # the index fills the others from the InChI
        assert meta["inchikey"] == row["inchikey"]
    else:
        assert meta["inchikey"] is None
    if row["precursor_mz"] not in ("", "NA"):
        chain = meta.get("precursor_mz_chain", (meta["precursor_mz"],))
        assert chain == tuple(float(v) for v in row["precursor_mz"].split("/"))
    else:
        assert meta["precursor_mz"] is None
    if row["precursor_type"]:
        assert meta["precursor_type"] == row["precursor_type"]
    if meta["collision_energy"] is not None:
        assert meta["collision_energy"] == row["collision_energy"]


def test_intensities_are_the_absolute_column():
    """AU111701: 246.1839 15524 12 / 264.1957 1271884 999."""
    (spec,) = read(ATHENS).items
    assert spec.axis.tolist() == [246.1839, 264.1957]
    assert spec.intensities.tolist() == [15524, 1271884]
    meta = spec.metadata
    assert meta["retention_time_s"] == pytest.approx(4.8 * 60)  # "RETENTION_TIME 4.8 min"
    assert meta["collision_energy_ev"] == 10.0 and meta["polarity"] == "positive"
    assert meta["synonyms"] == (
        "(1R,2R)-2-[(dimethylamino)methyl]-1-(3-methoxyphenyl)cyclohexan-1-ol",)
    assert meta["cas"] == "27203-92-5" and meta["links"]["PUBCHEM"] == "CID:33741"


def test_ei_records_keep_the_electron_energy_apart():
    path = next(p for p in RECORDS if "IONIZATION_ENERGY 70 eV" in p.read_text("utf-8"))
    meta = read(path).items[0].metadata
    assert meta["ionization"] == "EI" and meta["ms_level"] == 1
    assert meta["electron_energy_ev"] == 70.0 and meta["collision_energy_ev"] is None


def _broken(text: str, start: str, end: str, replacement: str) -> str:
    i = text.index(start)
    return text[:i] + replacement + text[text.index(end, i):]


def test_several_records_in_one_file(tmp_path):
    good = ATHENS.read_text("utf-8")
    bad = good.replace("  264.1957 1271884 999", "  264.1957 x 999")
    path = tmp_path / "dump.txt"
    path.write_text(good + bad + good.replace("AU111701", "AU999999"), encoding="utf-8")
    ds = read(path)
    assert [s.provenance.record for s in ds.items] == [1, 3]
    assert [s.metadata["accession"] for s in ds.items] == [
        "MSBNK-Athens_Univ-AU111701", "MSBNK-Athens_Univ-AU999999"]
    (problem,) = ds.problems
    assert problem.record == 2 and problem.name == "MSBNK-Athens_Univ-AU111701"
    assert "264.1957 x 999" in problem.reason


def test_wrong_num_peak_is_noted(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text(ATHENS.read_text("utf-8").replace("PK$NUM_PEAK: 2", "PK$NUM_PEAK: 3"),
                    encoding="utf-8")
    with pytest.warns(DataQualityWarning, match="PK\\$NUM_PEAK"):
        (spec,) = read(path).items
    assert len(spec) == 2 and spec.metadata["notes"] == ("PK$NUM_PEAK: 3 but 2 peaks read",)


@pytest.mark.parametrize("mutate, reason", [
    (lambda t: t.replace("  264.1957 1271884 999", "  264.1957 1271884"), "do not fill rows"),
    (lambda t: _broken(t, "PK$PEAK:", "//", "PK$PEAK: N/A\n"), "no peaks"),
    (lambda t: t[: t.index("PK$NUM_PEAK")], "no PK$PEAK"),
    (lambda t: t.replace("CH$FORMULA: C16H25NO2", "garbage line"), "not 'TAG: value'"),
    (lambda t: t[: t.index("  264.1957 1271884")], "ends without '//' after 1 of 2 peaks"),
])
def test_bad_single_record_raises_with_reason(tmp_path, mutate, reason):
    path = tmp_path / "bad.txt"
    path.write_text(mutate(ATHENS.read_text("utf-8")), encoding="utf-8")
    with pytest.raises(CorruptDataError, match=re.escape(reason)):
        read(path)
    result = run_cli("info", path)
    assert result.returncode == 2 and reason in result.stderr
    assert result.stderr.count("\n") == 1


def test_massbank_is_not_claimed_for_other_text(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("Name: x\nNum Peaks: 1\n40 1\n", encoding="utf-8")
    assert "massbank" not in [d.name for d in claimants(path)]
