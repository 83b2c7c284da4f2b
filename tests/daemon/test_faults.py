"""Faults while the service runs (one real service process, real files): each is handled,
recorded in the journal with its reason, and the service keeps going.

- output folder not writable: a read-only bind mount of an OUT sub-folder when this
  machine allows mounts (root), ``chmod 555`` when not root, else EACCES injected at the
  report write layer (tests/daemon/fault_shim.py);
- disk full: an OUT sub-folder on a 256 KiB tmpfs filled to ENOSPC when mounts are
  allowed, else ENOSPC injected at the write layer; the test prints which it used;
- corrupt files: an mzML with broken base64 (quarantined, reason named), a text file no
  driver claims (quarantined), an mzML cut inside a spectrum that never completes
  (quarantined after ``give_up_after``);
- a file deleted while a worker identifies it (state ``deleted``, no report);
- the library replaced mid-run by a curator's edit (workers reopen it; later reports
  and journal rows name the new library version).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import FORMATS, run_cli
from tests.daemon.helpers import (
    current,
    day_log,
    env,
    read_json,
    report_path,
    sha256_of,
    start,
    stop,
    wait_for,
)
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

MSP_A = FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP"
MSP_B = FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra/FentanylReplicates/379198.MSP"
MSP_C = FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra/FentanylReplicates/457504.MSP"
SMALL = FORMATS / "mzml/mzdata/small.mzML"
SLOW = FORMATS / "netcdf_andi/P071.CDF"  # ~3 s to identify: time to delete it meanwhile


def _mount(*args) -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *map(str, args)], capture_output=True,
                          check=False).returncode == 0


def _umount(path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True, check=False)


class ReadOnly:
    """Makes a folder unwritable by the best real means here (see the module docstring)."""

    def __init__(self, folder, flags):
        self.folder, self.flags, self.how = folder, flags, None

    def on(self):
        if _mount("--bind", self.folder, self.folder):
            if _mount("-o", "remount,bind,ro", self.folder):
                self.how = "read-only bind mount (EROFS)"
                return
            _umount(self.folder)
        if os.geteuid() != 0:
            self.folder.chmod(0o555)
            self.how = "chmod 555 (EACCES)"
            return
        (self.flags / "eacces").write_text(str(self.folder))
        self.how = "EACCES injected at the write layer"

    def off(self):
        if self.how and "mount" in self.how:
            _umount(self.folder)
        elif self.how and "chmod" in self.how:
            self.folder.chmod(0o755)
        (self.flags / "eacces").unlink(missing_ok=True)


class DiskFull:
    """An OUT sub-folder with no space left (see the module docstring)."""

    def __init__(self, folder, flags):
        self.folder, self.flags, self.how, self.filler = folder, flags, None, None

    def on(self):
        if _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", self.folder):
            self.how = "256 KiB tmpfs filled to ENOSPC"
            self.filler = self.folder / "filler"
            fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass  # ENOSPC: full
            finally:
                os.close(fd)
            return
        (self.flags / "enospc").write_text(str(self.folder))
        self.how = "ENOSPC injected at the write layer"

    def free(self):
        if self.filler is not None:
            self.filler.unlink(missing_ok=True)
        (self.flags / "enospc").unlink(missing_ok=True)

    def off(self):
        self.free()
        if self.how and "tmpfs" in self.how:
            _umount(self.folder)


def _corrupt_base64(data: bytes) -> bytes:
    start_ = data.index(b"<binary>") + len(b"<binary>") + 40
    return data[:start_] + b"!*%" + data[start_ + 3:]


def test_faults_are_recorded_and_the_service_keeps_going(tmp_path, swgdrug_lib):
    watch, out, state, flags = (tmp_path / n for n in ("watch", "out", "state", "flags"))
    for d in (watch / "ro", watch / "full", out / "ro", out / "full", flags):
        d.mkdir(parents=True)
    lib = tmp_path / "lib.h5"
    shutil.copyfile(swgdrug_lib, lib)
    config = tmp_path / "watch.toml"
    config.write_text(f'[watch]\nfolders = ["{watch}"]\nout = "{out}"\nstate = "{state}"\n'
                      f'library = "{lib}"\nworkers = 2\nsettle = 0.5\nrescan = 2\n'
                      'retry_base = 0.5\nretry_max = 2\ngive_up_after = 4\n')
    cmd = [sys.executable, "-m", "tests.daemon.fault_shim", "watch", "--config", str(config)]
    os.environ["FENTID_TEST_FAULTS"] = str(flags)
    readonly, full = ReadOnly(out / "ro", flags), DiskFull(out / "full", flags)
    proc = start(cmd, tmp_path / "service.log")
    try:
        shutil.copyfile(MSP_A, watch / "first.MSP")
        wait_for(lambda: current(state).get("first.MSP", {}).get("state") == "done", 60,
                 "the first report", proc=proc)
        version0 = current(state)["first.MSP"]["library_version"]

        # --- output folder not writable, disk full ---------------------------------------
        readonly.on()
        full.on()
        shutil.copyfile(MSP_B, watch / "ro" / "a.MSP")
        shutil.copyfile(FORMATS / "mzml/pyteomics/test.mzML", watch / "full" / "b.mzML")
        shutil.copyfile(MSP_C, watch / "meanwhile.MSP")
        wait_for(lambda: "cannot write the report" in (current(state).get("ro/a.MSP", {})
                                                       .get("error") or ""), 60,
                 "the unwritable output recorded", proc=proc)
        wait_for(lambda: "No space left" in (current(state).get("full/b.mzML", {})
                                             .get("error") or ""), 60,
                 "the full disk recorded", proc=proc)
        wait_for(lambda: current(state).get("meanwhile.MSP", {}).get("state") == "done", 60,
                 "other acquisitions reported meanwhile", proc=proc)
        assert current(state)["ro/a.MSP"]["state"] in ("failed", "processing")
        assert not list((out / "full").glob(".fentid-tmp-*"))  # no half-written report left
        status = run_cli("watch", "--status", "--state", state)
        assert status.returncode == 0 and "fentid watch: running" in status.stdout
        assert "cannot write the report" in status.stdout
        readonly.off()
        full.free()
        wait_for(lambda: current(state).get("ro/a.MSP", {}).get("state") == "done", 60,
                 "the report once the folder is writable again", proc=proc)
        wait_for(lambda: current(state).get("full/b.mzML", {}).get("state") == "done", 60,
                 "the report once space is free", proc=proc)
        assert read_json(report_path(out, "full/b.mzML"))["samples"][0]["sha256"] == \
            sha256_of(watch / "full" / "b.mzML")

        # --- corrupt, unknown, never-completing files ------------------------------------
        (watch / "corrupt.mzML").write_bytes(_corrupt_base64(SMALL.read_bytes()))
        (watch / "notes.txt").write_text("not an acquisition\n")
        data = SMALL.read_bytes()
        (watch / "cut.mzML").write_bytes(data[:data.index(b'<spectrum index="5"') + 500])

        def quarantined(rel):
            return lambda: current(state).get(rel, {}).get("state") == "quarantined"

        for rel in ("corrupt.mzML", "notes.txt", "cut.mzML"):
            wait_for(quarantined(rel), 60, f"{rel} quarantined", proc=proc)
        cur = current(state)
        assert "base64" in cur["corrupt.mzML"]["error"]
        assert "no driver recognises" in cur["notes.txt"]["error"]
        assert "still incomplete" in cur["cut.mzML"]["error"]
        for rel in ("corrupt.mzML", "notes.txt", "cut.mzML"):
            assert not report_path(out, rel).exists()

        # --- deleted while being processed -----------------------------------------------
        shutil.copyfile(SLOW, watch / "slow.CDF")
        wait_for(lambda: current(state).get("slow.CDF", {}).get("state") == "processing", 60,
                 "slow.CDF in a worker", proc=proc, poll=0.02)
        (watch / "slow.CDF").unlink()
        wait_for(lambda: current(state).get("slow.CDF", {}).get("state") == "deleted", 60,
                 "slow.CDF recorded as deleted", proc=proc)
        assert "deleted" in current(state)["slow.CDF"]["error"]
        assert not report_path(out, "slow.CDF").exists()

        # --- library replaced mid-run ----------------------------------------------------
        proc_edit = run_cli("library", "remove", lib, "1", "--reason", "test: curator update")
        assert proc_edit.returncode == 0, proc_edit.stderr
        shutil.copyfile(MSP_B, watch / "after.MSP")
        wait_for(lambda: current(state).get("after.MSP", {}).get("state") == "done", 60,
                 "a report after the library update", proc=proc)
        row = current(state)["after.MSP"]
        assert row["library_version"] == version0 + 1
        assert read_json(report_path(out, "after.MSP"))["library"]["library_version"] == \
            version0 + 1
        assert read_json(report_path(out, "first.MSP"))["library"]["library_version"] == version0
        assert proc.poll() is None  # still running after every fault
        assert stop(proc) == 0
    finally:
        readonly.off()
        full.off()
        os.environ.pop("FENTID_TEST_FAULTS", None)
        if proc.poll() is None:
            proc.kill()
    log_text = (tmp_path / "service.log").read_text(errors="replace")
    assert "Traceback" not in log_text
    assert f"version {version0} -> {version0 + 1}" in log_text
    events = {(e["event"], e["relative_path"]) for e in day_log(out)}
    assert {("quarantined", "corrupt.mzML"), ("quarantined", "cut.mzML"),
            ("deleted", "slow.CDF"), ("failed", "ro/a.MSP"), ("failed", "full/b.mzML"),
            ("report", "ro/a.MSP"), ("report", "full/b.mzML")} <= events
    print(f"\nunwritable output: {readonly.how}; disk full: {full.how}")


def test_status_without_a_journal_is_one_line_error(tmp_path):
    proc = run_cli("watch", "--status", "--state", tmp_path / "nothing")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("fentid: error:") and "no journal" in proc.stderr


@pytest.mark.parametrize("args, words", [
    ((), "no folder to watch"),
    (("{watch}",), "no output folder"),
    (("{watch}", "--out", "{watch}/reports"), "must not contain each other"),
    (("{missing}", "--out", "{out}"), "does not exist"),
    (("{watch}", "--out", "{out}", "--workers", "0"), "workers must be at least 1"),
])
def test_bad_settings_are_one_line_errors(tmp_path, args, words):
    (tmp_path / "watch").mkdir()
    names = {"watch": tmp_path / "watch", "out": tmp_path / "out",
             "missing": tmp_path / "missing"}
    proc = run_cli("watch", *(a.format(**names) for a in args), "--state", tmp_path / "s")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("fentid: error:") and words in proc.stderr


def test_config_file_unknown_setting_is_named(tmp_path):
    config = tmp_path / "w.toml"
    config.write_text('[watch]\nfolders = ["."]\nout = "out"\nsettel = 3\n')
    proc = run_cli("watch", "--config", config)
    assert proc.returncode == 2 and "settel" in proc.stderr and str(config) in proc.stderr


def test_second_service_on_the_same_state_is_refused(tmp_path, swgdrug_lib):
    watch = tmp_path / "watch"
    watch.mkdir()
    cmd = [sys.executable, "-m", "fentid.cli", "watch", str(watch), "--out",
           str(tmp_path / "out"), "--state", str(tmp_path / "state"), "--library",
           str(swgdrug_lib)]
    proc = start(cmd, tmp_path / "service.log")
    try:
        wait_for(lambda: (tmp_path / "state" / "status.json").exists(), 60,
                 "the first service", proc=proc)
        second = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=60,
                                check=False)
        assert second.returncode == 2
        assert f"pid {proc.pid}" in second.stderr and "another watch service" in second.stderr
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
