"""The case archive's storage: what ``fentid identify --archive`` writes, atomic partitions,
one clear line for a damaged one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fentid.archive import open_archive, read_table
from fentid.errors import ArchiveError
from tests.conftest import MS, run_cli
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

REPLICATES = sorted((MS / "NIST-FentanylClassifier/ExampleQuerySpectra").rglob("*.MSP"))


def msp_masses(path: Path) -> set[float]:
    text = path.read_text(encoding="utf-8").split("Num Peaks:", 1)[1].split("\n", 1)[1]
    return {float(m) for m, _ in re.findall(r"([\d.]+)\s+([\d.]+)", text)}


def test_identify_archive_writes_one_partition_with_every_component(tmp_path, swgdrug_lib):
    arch = tmp_path / "arch"
    proc = run_cli("identify", *REPLICATES[:4], "--library", swgdrug_lib, "--json",
                   "--archive", arch, "-q")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    parts = open_archive(arch).partitions()
    assert len(parts) == 1
    rows = read_table(parts[0]).to_pylist()
    assert len(rows) == len(report["components"]) == 4
    for row, comp in zip(rows, report["components"], strict=True):
        src = Path(row["sample"])
        assert src in REPLICATES[:4]
        assert row["position"] and set(row["position"]) <= msp_masses(src)
        assert json.loads(row["conclusion"]) == comp["conclusion"]
        assert row["technique"] == "ei" and row["algorithm"] == "identity"
        assert row["library_version"] == report["library"]["library_version"]
        assert row["library_checksum"] == report["library"]["checksum"]
    import hashlib

    for row in rows:
        assert row["sha256"] == hashlib.sha256(Path(row["sample"]).read_bytes()).hexdigest()


def test_a_failed_write_leaves_no_partition_and_no_temporary_file(tmp_path, monkeypatch):
    arch = open_archive(tmp_path / "arch")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", boom)
    from fentid.archive.store import COMPONENT_FIELDS

    with pytest.raises(OSError):
        arch.add_rows({k: [] for k in COMPONENT_FIELDS})
    assert list((tmp_path / "arch" / "partitions").iterdir()) == []


def test_a_corrupt_partition_is_named_in_one_line(tmp_path, swgdrug_lib):
    arch = tmp_path / "arch"
    assert run_cli("identify", REPLICATES[0], "--library", swgdrug_lib, "--archive", arch,
                   "-q").returncode == 0
    part = open_archive(arch).partitions()[0]
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])  # cut short, as a bad copy would
    with pytest.raises(ArchiveError) as err:
        read_table(part)
    assert str(part) in str(err.value) and "\n" not in str(err.value)


def test_a_folder_that_is_not_an_archive_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(ArchiveError, match="not a fentid case archive"):
        open_archive(tmp_path)


def test_full_rescreen_names_a_damaged_partition_once_and_reads_the_others(tmp_path,
                                                                          swgdrug_lib):
    from fentid.archive.rescreen import rescreen

    arch = tmp_path / "arch"
    for sample in REPLICATES[:2]:  # one partition each
        assert run_cli("identify", sample, "--library", swgdrug_lib, "--archive", arch,
                       "-q").returncode == 0
    good, bad = open_archive(arch).partitions()
    bad.write_bytes(bad.read_bytes()[:200])
    result = rescreen(arch, swgdrug_lib, full=True, serial=True)
    assert result["problems"] == [{"file": str(bad), "reason": result["problems"][0]["reason"]}]
    assert "corrupt archive partition" in result["problems"][0]["reason"]
    # the same library as the identification: the good partition's conclusion stands
    assert result["n_components"] == read_table(good).num_rows == 1
    assert result["changes"] == []
    screening = open_archive(arch).screenings()[-1]
    assert screening["partitions"] == [good.name] and screening["mode"] == "full"


def test_full_rescreen_with_the_same_library_changes_nothing(tmp_path, swgdrug_lib):
    """The archive keeps everything the search reads (peaks, their metadata such as the
    run's scan range): concluding again against the same library gives the same report."""
    import fentid
    from fentid.archive.rescreen import rescreen
    from tests.conftest import FORMATS

    arch = open_archive(tmp_path / "arch")
    with fentid.open_library(swgdrug_lib) as lib:
        report = fentid.identify(FORMATS / "netcdf_andi/HP_MS.CDF", library=lib)
        arch.add(report)
    result = rescreen(tmp_path / "arch", swgdrug_lib, full=True, serial=True, record=False)
    assert result["n_components"] == len(report.components) > 0
    assert result["changes"] == []
