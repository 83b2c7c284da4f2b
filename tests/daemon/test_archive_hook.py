"""The watch-folder service's ``archive`` setting: each reported acquisition's components
land in the case archive (fentid.archive), with the acquisition's own sha256 and peaks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq

from tests.daemon.helpers import NIST_MSP, env, service_cmd, sha256_file
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)


def msp_masses(path: str) -> set[float]:
    """The m/z values of an MSP file's ``mz intensity;`` peak lines (our own parse)."""
    text = Path(path).read_text(encoding="utf-8").split("Num Peaks:", 1)[1].split("\n", 1)[1]
    return {float(m) for m, _ in re.findall(r"([\d.]+)\s+([\d.]+)", text)}


def test_watch_once_archives_every_reported_component(tmp_path, swgdrug_lib):
    watch, out, state, arch = (tmp_path / n for n in ("watch", "out", "state", "archive"))
    watch.mkdir()
    sources = NIST_MSP[:3]
    for src in sources:
        shutil.copy(src, watch / src.rsplit("/", 1)[1])
    config = tmp_path / "watch.toml"
    config.write_text('[watch]\narchive = "archive"\n')
    cmd = service_cmd(watch, out, state, swgdrug_lib, "--once", "--settle", "0.5",
                      "--workers", "1", "--config", config)
    proc = subprocess.run(cmd, check=False, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    parts = sorted((arch / "partitions").glob("*.parquet"))
    assert len(parts) == len(sources)  # one partition per reported acquisition
    rows = [r for p in parts for r in pq.read_table(p).to_pylist()]
    by_sha = {r["sha256"]: r for r in rows}
    for src in sources:
        copy = watch / src.rsplit("/", 1)[1]
        row = by_sha[sha256_file(copy)]  # our own sha256 of the file the service read
        assert row["sample"] == str(copy)
        # the archived peaks are the file's own m/z values (read here from its text)
        assert row["position"] and set(row["position"]) <= msp_masses(src)
        assert row["status"] in ("identified", "isomer_group", "tentative", "no_match")
        assert row["library_path"] == str(swgdrug_lib)


def test_unreadable_archive_setting_is_one_line(tmp_path, swgdrug_lib):
    watch, out, state = tmp_path / "watch", tmp_path / "out", tmp_path / "state"
    watch.mkdir()
    (tmp_path / "notarchive").mkdir()
    (tmp_path / "notarchive" / "manifest.json").write_text("{}")
    config = tmp_path / "watch.toml"
    config.write_text('[watch]\narchive = "notarchive"\n')
    cmd = service_cmd(watch, out, state, swgdrug_lib, "--once", "--config", config)
    proc = subprocess.run(cmd, check=False, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert str(tmp_path / "notarchive" / "manifest.json") in errors[0]
