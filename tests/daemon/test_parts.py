"""The service's parts on copies of real acquisitions: discovery, completeness, outputs,
settings (the end-to-end tests run them in real processes)."""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
from pathlib import Path

import pytest

from fentid.daemon import completeness, discovery, outputs
from fentid.daemon.config import make_settings
from fentid.errors import ConfigError
from tests.conftest import FORMATS


def _copy(src: Path, dst: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, dst)
        for p in dst.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return dst


def _cut(path: Path, keep: float) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(int(path.stat().st_size * keep))


def test_walk_finds_vendor_folders_and_files_not_their_members(tmp_path):
    root = tmp_path / "watch"
    _copy(FORMATS / "bruker_topspin/aspirin-1h/1", root / "nmr/aspirin/1")
    _copy(FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H", root / "nmr/gaba/1H")
    _copy(FORMATS / "agilent_d/yellow.D", root / "gcms/2026-12-03/yellow.D")
    _copy(FORMATS / "varian_vnmr/proton.fid", root / "vnmr/proton.fid")
    _copy(FORMATS / "magritek_spinsolve/230213-131158 Proton (lyogel)", root / "spinsolve/run 1")
    _copy(FORMATS / "mzml/pyteomics/test.mzML", root / "ms/test.mzML")
    _copy(FORMATS / "imzml/Example_Continuous.imzML", root / "ms/img.imzML")
    _copy(FORMATS / "imzml/Example_Continuous.ibd", root / "ms/img.ibd")
    (root / "ms/.hidden.mzML").write_text("x")
    (root / "ms/copy.mzML.part").write_text("x")
    (root / "ms/procs").write_text("##$SI= 16\n")  # a member file outside its folder
    (root / "nmr/new/1").mkdir(parents=True)
    (root / "nmr/new/1/fid").write_bytes(b"\0" * 16)  # acqus not written yet: a folder
    found = {discovery.relative(p, root): kind for p, kind in discovery.walk(
        root, ("*.part", ".*"))}
    assert found == {"nmr/aspirin/1": "bruker", "nmr/gaba/1H": "bruker",
                     "gcms/2026-12-03/yellow.D": "agilent", "vnmr/proton.fid": "varian",
                     "spinsolve/run 1": "spinsolve", "ms/test.mzML": "mzml",
                     "ms/img.imzML": "imzml", "nmr/new/1": "bruker"}
    # an event deep inside a folder names the folder
    deep = root / "gcms/2026-12-03/yellow.D/AcqData/MSScan.bin"
    assert discovery.acquisition_of(deep, root, ()) == (root / "gcms/2026-12-03/yellow.D",
                                                        "agilent")
    assert discovery.acquisition_of(root / "nmr/aspirin/1/pdata/1/procs", root, ()) == \
        (root / "nmr/aspirin/1", "bruker")


def test_fingerprint_changes_with_any_file(tmp_path):
    d = _copy(FORMATS / "bruker_topspin/aspirin-1h/1", tmp_path / "1")
    before = discovery.fingerprint(d)
    assert before.files == sum(1 for p in d.rglob("*") if p.is_file())
    assert before.size == sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
    with open(d / "pdata/1/procs", "ab") as fh:
        fh.write(b"\n")
    assert discovery.fingerprint(d).digest != before.digest


CUTS = [
    ("bruker_topspin/aspirin-1h/1", "bruker", "fid", "TD=16384"),
    ("bruker_topspin/VZBBI_13R03_GABA/1H", "bruker", "pdata/1/1r", "SI="),
    ("bruker_topspin/aspirin-1h-processed/1", "bruker", "pdata/1/1r", "SI="),
    ("bruker_topspin/cyclosporin_cosy/1", "bruker", "ser", "acqu2s"),
    ("agilent_d/yellow.D", "agilent", "data.ms", "ends inside scan"),
    ("agilent_d/orange.D", "agilent", "MSD1.MS", "ends inside scan"),
    ("mzml/mzdata/small.mzML", "mzml", None, "</mzML>"),
    ("mzxml/pyteomics/test.mzXML", "mzxml", None, "</mzXML>"),
    ("nmrml/VZBBI_13R03_GABA_1H.nmrML", "nmrml", None, "</nmrML>"),
    ("jcamp_dx_nmr/cheminfo/aspirin/1h.dx", "jcamp", None, "##END="),
]


@pytest.mark.parametrize("sample, kind, part, words", CUTS, ids=[c[0] for c in CUTS])
def test_half_written_copies_are_incomplete_whole_ones_complete(tmp_path, sample, kind,
                                                                 part, words):
    src = FORMATS / sample
    assert completeness.format_incomplete(src, kind) is None
    copy = _copy(src, tmp_path / src.name)
    _cut(copy / part if part else copy, 0.6)
    reason = completeness.format_incomplete(copy, kind)
    assert reason is not None and words in reason


def test_gzip_cut_short_is_incomplete(tmp_path):
    whole = tmp_path / "test.mzML.gz"
    whole.write_bytes(gzip.compress((FORMATS / "mzml/pyteomics/test.mzML").read_bytes()))
    assert completeness.format_incomplete(whole, "gzip") is None
    _cut(whole, 0.5)
    assert "truncated" in completeness.format_incomplete(whole, "gzip")


def test_a_file_locked_by_its_writer_is_named(tmp_path):
    path = _copy(FORMATS / "mzml/pyteomics/test.mzML", tmp_path / "run.mzML")
    files = discovery.files_of(path)
    assert completeness.locked(path, files) is None
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert completeness.locked(path, files) == "run.mzML"
    finally:
        os.close(fd)
    assert completeness.locked(path, files) is None


def test_stability_counts_from_the_last_change(tmp_path):
    path = _copy(FORMATS / "mzml/pyteomics/test.mzML", tmp_path / "run.mzML")
    s = completeness.Stability()
    fp = discovery.fingerprint(path)
    assert s.observe("k", fp, 100.0) == 0.0
    assert s.observe("k", fp, 103.5) == 3.5
    os.utime(path, ns=(1, 1))
    assert s.observe("k", discovery.fingerprint(path), 104.0) == 0.0


def test_report_paths_and_versions(tmp_path):
    j, t = outputs.report_paths(tmp_path, "", "2026/run 1.D")
    assert j == tmp_path / "2026" / "run 1.D.fentid.json"
    assert t == tmp_path / "2026" / "run 1.D.fentid.txt"
    assert outputs.versioned(j, 2).name == "run 1.D.fentid.v2.json"
    assert outputs.report_paths(tmp_path, "gcms", "a.mzML")[0] == tmp_path / "gcms" / \
        "a.mzML.fentid.json"


def test_atomic_write_leaves_no_temp_file_when_it_fails(tmp_path):
    target = tmp_path / "r.fentid.json"
    outputs.write_bytes(target, b"old")
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(OSError):
        outputs.write_bytes(tmp_path / "blocker" / "x.fentid.json", b"new")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.rglob(".fentid-tmp-*"))


def test_on_report_command_placeholders(tmp_path):
    r, t = tmp_path / "a b.fentid.json", tmp_path / "a b.fentid.txt"
    assert outputs.hook_command("lims-import --quiet", r, t, "/w/a b") == \
        ["lims-import", "--quiet", str(r)]
    assert outputs.hook_command("x --json {report} --text={text} {acquisition}", r, t,
                                "/w/a b") == ["x", "--json", str(r), f"--text={t}", "/w/a b"]


def test_config_file_paths_are_relative_to_it_and_the_command_line_wins(tmp_path):
    (tmp_path / "in").mkdir()
    config = tmp_path / "etc" / "watch.toml"
    config.parent.mkdir()
    config.write_text('[watch]\nfolders = ["../in"]\nout = "../out"\nsettle = 3\n'
                      'workers = 4\nstate = "state"\n')
    s = make_settings({"settle": 0.5, "folders": []}, config)
    assert s.folders == ((tmp_path / "in").resolve(),)
    assert s.out == (tmp_path / "out").resolve()
    assert s.state == (config.parent / "state").resolve()
    assert s.settle == 0.5 and s.workers == 4
    with pytest.raises(ConfigError, match="workers must be a number"):
        make_settings({"workers": "two"}, config)
