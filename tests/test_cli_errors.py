"""Bad input through the ``fentid`` CLI: exit code 2 and one clean line on stderr.

Every case runs the real command in a subprocess (as a user would) and checks:
exit status 2, exactly one stderr line starting ``fentid: error:``, which names the
offending path, and no Python traceback anywhere.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import FORMATS, run_cli

COMMANDS = ("info", "peaks")


def assert_clean_error(proc, path=None, reason=None):
    """Exit 2, a single ``fentid: error:`` line naming ``path``, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fentid: error:"), lines[0]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    if path is not None:
        assert str(path) in lines[0], lines[0]
    if reason is not None:
        assert reason in lines[0], lines[0]
    return lines[0]


# --- generic bad input -------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_empty_file(tmp_path, command):
    path = tmp_path / "empty.fid"
    path.write_bytes(b"")
    assert_clean_error(run_cli(command, path), path, "empty")


RANDOM_NAMES = ("random.bin", "random.jdf", "random.nmrML", "fid", "random.ft",
                "random.mzML", "random.jdx", "random.msp", "random.cdf")


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_random_bytes_with_any_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(2024).bytes(20000))
    assert_clean_error(run_cli("info", path), path)


@pytest.mark.parametrize("command", COMMANDS)
def test_directory_of_unrelated_files(tmp_path, command):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("meeting notes\nnothing to see\n")
    (folder / "table.csv").write_text("a,b\n1,2\n")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert_clean_error(run_cli(command, folder), folder, "no driver recognises")


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_folder(tmp_path, command):
    folder = tmp_path / "nothing"
    folder.mkdir()
    assert_clean_error(run_cli(command, folder), folder, "empty")


@pytest.mark.parametrize("command", COMMANDS)
def test_nonexistent_path(tmp_path, command):
    path = tmp_path / "does" / "not" / "exist.fid"
    assert_clean_error(run_cli(command, path), path, "no such file")


def test_unknown_format_names_the_known_formats(tmp_path):
    path = tmp_path / "x.dat"
    path.write_text("plain text that is no spectrum\n" * 20)
    line = assert_clean_error(run_cli("info", path), path)
    for name in ("bruker", "varian", "jeol", "nmrml", "mzml"):
        assert name in line


def test_good_file_after_bad_still_errors_cleanly(tmp_path):
    """Several paths: the first bad one stops the run with exit 2 and one line."""
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0\1\2" * 100)
    proc = run_cli("info", bad, FORMATS / "nmrpipe/nmrglue_tests/nmrpipe_1d_time.fid")
    assert_clean_error(proc, bad)


# --- recognised formats with broken content ------------------------------------------------

def _copy_dir(src, dest):
    shutil.copytree(src, dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def test_varian_truncated_fid(tmp_path):
    folder = _copy_dir(FORMATS / "varian_vnmr/THA_f22-23/1H.fid", tmp_path / "t.fid")
    data = (folder / "fid").read_bytes()
    (folder / "fid").write_bytes(data[:len(data) // 3])
    assert_clean_error(run_cli("info", folder), folder / "fid", "truncated")


def test_varian_procpar_without_fid(tmp_path):
    folder = _copy_dir(FORMATS / "varian_vnmr/THA_f22-23/1H.fid", tmp_path / "nofid.fid")
    (folder / "fid").unlink()
    assert_clean_error(run_cli("peaks", folder), folder, "missing")


def test_jeol_truncated_jdf(tmp_path):
    src = FORMATS / "jeol_delta/Rutin_3080ug200uL_DMSOd6_qHNMR_400MHz_Jeol.jdf"
    path = tmp_path / "cut.jdf"
    path.write_bytes(src.read_bytes()[:100000])
    assert_clean_error(run_cli("peaks", path), path, "truncated")


def test_nmrml_corrupt_xml(tmp_path):
    src = FORMATS / "nmrml/VZBBI_13R03_GABA_13C.nmrML"
    path = tmp_path / "cut.nmrML"
    path.write_bytes(src.read_bytes()[:150000])
    assert_clean_error(run_cli("info", path), path, "XML")


def test_nmrpipe_truncated(tmp_path):
    src = FORMATS / "nmrpipe/nmrglue_example_integrate_1d/1d_data.ft"
    path = tmp_path / "cut.ft"
    path.write_bytes(src.read_bytes()[:30000])
    assert_clean_error(run_cli("peaks", path), path, "truncated")


def test_spinsolve_truncated_data(tmp_path):
    folder = _copy_dir(FORMATS / "magritek_spinsolve/230213-131158 Proton (lyogel)",
                       tmp_path / "spin")
    data = (folder / "data.1d").read_bytes()
    (folder / "data.1d").write_bytes(data[:-1000])
    assert_clean_error(run_cli("info", folder), folder / "data.1d", "truncated")


def test_bruker_acqus_without_data(tmp_path):
    src = FORMATS / "bruker_topspin/aspirin-1h/1"
    folder = tmp_path / "1"
    folder.mkdir()
    shutil.copy(src / "acqus", folder / "acqus")
    assert_clean_error(run_cli("info", folder), folder)
