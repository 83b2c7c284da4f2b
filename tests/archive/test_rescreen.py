"""``fentid rescreen`` on a 2-worker LocalCluster: an archive of real spectra screened against
SWGDRUG 3.9 without its fentanyl-class records, then those records added.

Facts used: compound classes and InChIKeys from ../shared/data/compounds/catalog.csv, the
records' own names and InChIKeys in SWGDRUG39.msp and NIST's SingleModFentanylLibrary.msp.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
from dask.distributed import Client

import fentid
from fentid.archive import open_archive
from fentid.archive.rescreen import local_cluster, rescreen
from tests.conftest import COMPOUNDS, FORMATS, MS, run_cli

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"
SINGLE_MOD_ALL = MS / "NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"
#: Records of the single-modification library archived (a slice keeps the test quick).
N_SINGLE_MOD = 16
QUERIES = sorted((MS / "NIST-FentanylClassifier/ExampleQuerySpectra").rglob("*.MSP"))
GCMS = FORMATS / "netcdf_andi/HP_MS.CDF"  # a real GC-MS run without fentanyls


def msp_records(path: Path) -> list[str]:
    return re.split(r"\n(?=Name:)", path.read_text(encoding="utf-8").strip())


def field(record: str, name: str) -> str:
    m = re.search(rf"^{name}: (.*)$", record, re.MULTILINE)
    return m.group(1).strip() if m else ""


def fentanyl_class() -> tuple[set[str], set[str]]:
    """InChIKeys and lower-case names/synonyms of the catalog's fentanyl_analog compounds."""
    keys, names = set(), set()
    with open(COMPOUNDS / "catalog.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["class"] == "fentanyl_analog":
                keys.add(row["inchikey"])
                names.add(row["name"].lower())
                names |= {s.strip().lower() for s in row["synonyms"].split(";") if s.strip()}
    return keys, names


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """(library without SWGDRUG's fentanyl-class records, the same plus them, their keys)."""
    from fentid.curation import import_sources
    from fentid.reference_library import create

    tmp = tmp_path_factory.mktemp("rescreen-libs")
    keys, names = fentanyl_class()
    records = msp_records(SWGDRUG)
    fent = [r for r in records
            if field(r, "InChIKey") in keys or field(r, "Name").lower() in names]
    rest = [r for r in records if r not in fent]
    assert len(fent) + len(rest) == 3430 and len(fent) > 50
    (tmp / "rest.msp").write_text("\n\n".join(rest) + "\n", encoding="utf-8")
    (tmp / "fentanyls.msp").write_text("\n\n".join(fent) + "\n", encoding="utf-8")
    before = create(tmp / "before.h5", curator="pytest")
    assert import_sources(before, [tmp / "rest.msp"], curator="pytest").imported == len(rest)
    after = tmp / "after.h5"
    shutil.copy(before, after)
    assert import_sources(after, [tmp / "fentanyls.msp"], curator="pytest").imported == \
        len(fent)
    return before, after, {field(r, "InChIKey") for r in fent}


@pytest.fixture(scope="module")
def single_mod(tmp_path_factory) -> Path:
    """The first N_SINGLE_MOD records of NIST's single-modification fentanyl library."""
    path = tmp_path_factory.mktemp("single-mod") / "SingleModFentanylLibrary-part.msp"
    path.write_text("\n\n".join(msp_records(SINGLE_MOD_ALL)[:N_SINGLE_MOD]) + "\n",
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def archive(libs, single_mod, tmp_path_factory):
    """Every NIST query spectrum (one case each), records of NIST's single-modification
    fentanyl library (one case) and a GC-MS run, identified against the library without
    SWGDRUG's fentanyls."""
    folder = tmp_path_factory.mktemp("rescreen-archive") / "archive"
    arch = open_archive(folder)
    reported = 0
    with fentid.open_library(libs[0]) as lib:
        for sample in [*QUERIES, single_mod, GCMS]:
            report = fentid.identify(sample, library=lib)
            reported += len(report.components)
            arch.add(report)
    (folder.parent / "reported.txt").write_text(str(reported))
    return folder


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def serial_delta(archive, libs, tmp_path_factory):
    copy = tmp_path_factory.mktemp("serial") / "archive"
    shutil.copytree(archive, copy)
    return rescreen(copy, libs[1], serial=True, record=False, task_components=8)


def copy_of(archive: Path, tmp_path: Path) -> Path:
    shutil.copytree(archive, tmp_path / "archive")
    return tmp_path / "archive"


def canonical(result: dict) -> str:
    return json.dumps(result, sort_keys=True)


def test_delta_names_the_fentanyls_and_equals_the_full_rescreen(archive, libs, client,
                                                                 tmp_path, serial_delta,
                                                                 single_mod):
    before, after, added_keys = libs
    arch = copy_of(archive, tmp_path)
    delta = rescreen(arch, after, client=client, task_components=8)
    with fentid.open_library(before) as a, fentid.open_library(after) as b:
        v_before, v_after = a.library_version, b.library_version
    assert delta["mode"] == "delta" and delta["screened_against"] == [v_before, v_after]
    # every archived component was read: as many as the identify reports had
    assert delta["n_components"] == int((archive.parent / "reported.txt").read_text())
    changed = {(c["sample"], c["component"]): c for c in delta["changes"]}
    # every single-modification analog whose structure SWGDRUG's added records carry is
    # now identified or placed in its isomer group
    expected = [r for r in msp_records(single_mod) if field(r, "InChIKey") in added_keys]
    assert len(expected) >= 8
    for rec in expected:
        c = changed[(str(single_mod), field(rec, "Name"))]
        assert c["new"]["status"] in ("identified", "isomer_group"), c["new"]
        if c["new"]["status"] == "identified":
            assert c["new"]["inchikey"] == field(rec, "InChIKey")
        assert c["old"]["inchikey"] != field(rec, "InChIKey")
        assert field(rec, "InChIKey") in {h["inchikey"] for h in c["hits"]}
    # the full re-screen (a copy of the same archive) finds exactly the same changes
    full = rescreen(copy_of(archive, tmp_path / "f"), after, full=True, client=client,
                    task_components=8)
    assert full["mode"] == "full"
    assert canonical(full["changes"]) == canonical(delta["changes"])
    # the archive records the new screening version: a second delta finds nothing to do
    screening = open_archive(arch).screenings()[-1]
    assert screening["library"]["library_version"] == v_after
    again = rescreen(arch, after, client=client)
    assert again["screened_against"] == [v_after, v_after] and again["changes"] == []
    # and the dask result equals the serial run's, byte for byte
    delta_again = dict(delta)
    assert canonical(delta_again) == canonical(serial_delta)


def test_a_worker_killed_mid_run_still_gives_the_complete_result(archive, libs, client,
                                                                 tmp_path, serial_delta):
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(done, total, what):
        if killed or done == total:
            return
        busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    result = rescreen(copy_of(archive, tmp_path), libs[1], client=client, record=False,
                      task_components=8, progress=kill_a_busy_worker)
    assert killed, "no worker was busy when the first task finished"
    assert canonical(result) == canonical(serial_delta)


def test_changes_since_lists_exactly_the_imported_records(libs):
    from fentid.reference_library import Library
    from fentid.reference_library.changes import changes_since

    before, after, added_keys = libs
    with Library.open(before) as a:
        v_before = a.library_version
    with Library.open(after) as lib:
        ch = changes_since(lib, v_before)
        sources = {Path(lib.entry(i)["source"]).name for i in ch["added"]}
        keys = {lib.entry(i)["inchikey"] for i in ch["added"]}
        n_fent = len([r for r in msp_records(after.parent / "fentanyls.msp")])
        assert len(ch["added"]) == n_fent and ch["live"] == ch["added"]
        assert sources == {"fentanyls.msp"} and ch["changed"] == []
        # records match catalog compounds by InChIKey or name, so keys may be the catalog's
        assert keys & added_keys
        assert changes_since(lib, lib.library_version)["added"] == []


def test_a_corrupt_partition_is_named_and_the_rest_completes(archive, libs, tmp_path, client,
                                                             serial_delta, single_mod):
    arch = copy_of(archive, tmp_path)
    parts = open_archive(arch).partitions()
    # the partition of the single-modification records (one case of N_SINGLE_MOD components)
    import pyarrow.parquet as pq

    bad = next(p for p in parts
               if str(single_mod) in pq.read_table(p, columns=["sample"])["sample"].to_pylist())
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    # through the CLI, on the running cluster (--scheduler)
    proc = run_cli("rescreen", arch, "--library", libs[1], "--json", "--scheduler",
                   client.scheduler.address)
    assert proc.returncode == 2
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and str(bad) in errors[0] and "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert [p["file"] for p in result["problems"]] == [str(bad)]
    expected = [c for c in serial_delta["changes"] if c["sample"] != str(single_mod)]
    assert expected and canonical(result["changes"]) == canonical(expected)
    assert result["n_components"] == serial_delta["n_components"] - N_SINGLE_MOD


def test_named_entries_and_since_version(archive, libs, tmp_path):
    """--entries searches only the entries named; --since-version the current version: none."""
    from fentid.reference_library import Library

    after = libs[1]
    with Library.open(after) as lib:
        fent = [e["entry_id"] for e in lib.entries("ei")
                if Path(e["source"]).name == "fentanyls.msp"
                and e["inchikey"] == "PJMPHNIQZUBGLI-UHFFFAOYSA-N"]  # catalog: fentanyl
        version = lib.library_version
    assert fent
    arch = copy_of(archive, tmp_path)
    result = rescreen(arch, after, entries=fent, serial=True, record=False)
    assert result["mode"] == "delta"
    replicates = [c for c in result["changes"] if "/FentanylReplicates/" in c["sample"]]
    # both NIST fentanyl replicate spectra (their MSP Name: Fentanyl) now hit that entry
    assert len(replicates) == len([q for q in QUERIES if "/FentanylReplicates/" in str(q)])
    for c in replicates:
        assert set(fent) & {h["entry_id"] for h in c["hits"]}
    none = rescreen(arch, after, since_version=version, serial=True, record=False)
    assert none["screened_against"] == [version, version] and none["changes"] == []
