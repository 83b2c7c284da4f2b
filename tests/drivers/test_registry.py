"""Every sample in formats/index.csv is claimed by exactly one driver (NMR and MS).

Rows are of three kinds:

* a sample file or a single-acquisition folder (Bruker experiment, VnmrJ ``.fid``,
  Spinsolve folder, Agilent ``.D``, Waters ``.raw``...): the row's path itself must be
  claimed by exactly one driver;
* a folder that merely *collects* several sample files (:data:`COLLECTIONS`): every
  file in it (recursively) must be claimed by exactly one driver;
* an "expected values" folder or file (:data:`EXPECTED_VALUE_ROWS`): reference output of
  other tools, not input for fentid, so it is excluded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fentid.drivers import claimants, drivers
from tests.conftest import FORMATS, load_index

INDEX = load_index("formats/index.csv")

#: Rows excluded, with the reason: they hold the *answers* other tools gave for a sample
#: (CSV/JSON/npy/text dumps), which tests compare against; no driver should claim them.
EXPECTED_VALUE_ROWS = {
    row["path"]: "expected values written by another tool, compared against in tests"
    for row in INDEX if row["format"].lower().startswith("expected values")
}

#: Folders of several independent sample files (not one acquisition), and why.
COLLECTIONS = {
    "jcamp_dx_nmr/jcampconverter_compression": "one JCAMP-DX file per encoding",
    "jcamp_dx_nmr/jcamp-dx.org_official": "the ISAS JCAMP-DX NMR test files",
    "jcamp_dx_nmr/nmr-dataset-demo_xtc": "two JCAMP-DX NTUPLES spectra",
    "nmrpipe/nmrglue_tests": "five single-file NMRPipe data sets",
    "msp/nist_fentanyl_classifier/ExampleQuerySpectra": "one MSP file per spectrum, in subfolders",
    "jcamp_dx_ms/jcamp-dx.org_official": "the ISAS JCAMP-DX MS test files",
}

#: Files inside collections that are documentation, not data, and why.
NOT_SAMPLES = {
    "jcamp_dx_nmr/jcamp-dx.org_official/DX-DIR.TXT":
        "ISAS's plain-text directory listing of the test files",
}

SAMPLE_ROWS = [row["path"] for row in INDEX if row["path"] not in EXPECTED_VALUE_ROWS]


def _claimed_by(path: Path) -> list[str]:
    return sorted(d.name for d in claimants(path))


def test_expected_value_rows_are_only_expected_folders():
    assert EXPECTED_VALUE_ROWS, "the index has expected-value rows"
    for path in EXPECTED_VALUE_ROWS:
        assert "/expected" in path, f"{path} excluded but not an expected-values folder"


def test_collections_and_documentation_are_listed_in_the_index():
    paths = {row["path"] for row in INDEX}
    for path in COLLECTIONS:
        assert path in paths and (FORMATS / path).is_dir(), path
    for path in NOT_SAMPLES:
        assert (FORMATS / path).is_file() and any(path.startswith(c) for c in COLLECTIONS)


def test_every_index_path_exists():
    missing = [row["path"] for row in INDEX if not (FORMATS / row["path"]).exists()]
    assert not missing


@pytest.mark.parametrize("row", SAMPLE_ROWS)
def test_claimed_by_exactly_one_driver(row):
    path = FORMATS / row
    if row in COLLECTIONS:
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.relative_to(FORMATS).as_posix() not in NOT_SAMPLES)
        assert files, f"{row} is empty"
        wrong = {p.relative_to(FORMATS).as_posix(): _claimed_by(p) for p in files}
        wrong = {k: v for k, v in wrong.items() if len(v) != 1}
        assert not wrong, f"files not claimed by exactly one driver: {wrong}"
    else:
        found = _claimed_by(path)
        assert len(found) == 1, f"{row} claimed by {found or 'no driver'}"


NMR_ROWS_BY_DRIVER = {
    "varian": "varian_vnmr/", "jeol": "jeol_delta/", "spinsolve": "magritek_spinsolve/",
    "nmrpipe": "nmrpipe/nmrglue_", "nmrml": "nmrml/",
}


@pytest.mark.parametrize("name,prefix", sorted(NMR_ROWS_BY_DRIVER.items()))
def test_nmr_rows_go_to_their_driver(name, prefix):
    rows = [r for r in SAMPLE_ROWS if r.startswith(prefix)]
    assert rows
    for row in rows:
        path = FORMATS / row
        targets = (sorted(p for p in path.iterdir() if p.is_file()) if row in COLLECTIONS
                   else [path])
        for target in targets:
            assert _claimed_by(target) == [name], target


def test_nmr_drivers_registered():
    table = drivers()
    for name in NMR_ROWS_BY_DRIVER:
        assert name in table and table[name].technique == "nmr"
