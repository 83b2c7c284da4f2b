"""Damaged copies of the real samples of every format: clear answers, nothing lost silently.

For one sample of each format in formats/index.csv (plus the wild MSP and mzML cases), seeded
mutants are made in tmp: truncated, bytes flipped, a block zeroed, a block duplicated, and for
folders a companion file dropped.  ``fentid info --json`` and ``fentid peaks --json`` run on
each (in process, through ``fentid.cli.main``, as the command does).  Asserted:

* exit code 0 or 2, never 1 (an internal error) and never a traceback;
* every stderr line is one ``fentid: error:`` or ``fentid: warning:`` line naming the file;
* for files of records (MSP, MGF, mzML, mzXML), ``info`` never exits 0 silently with fewer
  spectra than the mutant holds (counted here from its text): a lost record is an error, a
  problem or a warning.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from fentid import cli
from tests.conftest import DATA, FORMATS

SEED = 18
#: Formats whose records are counted independently in the mutant's text.
RECORD_PATTERNS = {".msp": rb"(?im)^name:", ".mgf": rb"BEGIN IONS", ".mzml": rb"<spectrum ",
                   ".mzxml": rb"<scan "}
MAX_BYTES = 6_000_000


def _samples() -> list[Path]:
    with open(FORMATS / "index.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    seen, out = set(), []
    for r in rows:
        path = FORMATS / r["path"]
        if r["format"] in seen or not path.exists():
            continue
        size = path.stat().st_size if path.is_file() else sum(
            f.stat().st_size for f in path.rglob("*") if f.is_file())
        if size > MAX_BYTES or (path.is_dir() and not any(path.iterdir())):
            continue
        if path.is_dir() and not any(f.is_file() for f in path.iterdir()):
            continue  # a folder of sample files, not one dataset
        seen.add(r["format"])
        out.append(path)
    out += [DATA / "wild" / "matchms_riken_style_five_spectra.msp",
            DATA / "wild" / "psi_1min.mzML"]
    return out


SAMPLES = _samples()


def _target(root: Path) -> Path:
    """The file a byte mutation hits: the file itself, or a folder's largest file."""
    if root.is_file():
        return root
    return max((f for f in root.rglob("*") if f.is_file()), key=lambda f: f.stat().st_size)


def _mutate(src: Path, dst: Path, kind: str, rng) -> Path | None:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)
    target = _target(dst)
    data = bytearray(target.read_bytes())
    if kind == "drop_companion":
        if dst.is_file():
            return None
        others = [f for f in dst.rglob("*") if f.is_file() and f != target]
        if not others:
            return None
        others[int(rng.integers(len(others)))].unlink()
        return dst
    if len(data) < 64:
        return None
    lo, hi = len(data) // 4, 3 * len(data) // 4
    at = int(rng.integers(lo, hi))
    if kind == "truncate":
        data = data[:at]
    elif kind == "flip":
        for k in rng.integers(lo, hi, 24):
            data[int(k)] ^= 0xFF
    elif kind == "zero":
        n = min(4096, len(data) - at)
        data[at:at + n] = bytes(n)
    elif kind == "duplicate":
        n = min(2048, len(data) - at)
        data[at:at] = data[at:at + n]
    target.write_bytes(bytes(data))
    return dst


def _run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("always")
        cli._WARNED.clear()
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _check_lines(stderr: str, root: Path) -> None:
    for line in stderr.strip().splitlines():
        assert line.startswith(("fentid: error: ", "fentid: warning: ")), line
        assert str(root) in line, f"{line!r} does not name {root}"
        assert "Traceback" not in line and "internal error" not in line, line


@pytest.mark.parametrize("sample", SAMPLES, ids=[str(s.relative_to(DATA)) for s in SAMPLES])
def test_mutants_get_clear_answers(sample, tmp_path):
    rng = np.random.default_rng([SEED, zlib.crc32(sample.name.encode())])
    kinds = ["truncate", "flip", "zero", "duplicate", "drop_companion"]
    ran = 0
    for kind in kinds:
        dst = tmp_path / kind / sample.name
        dst.parent.mkdir()
        mutant = _mutate(sample, dst, kind, rng)
        if mutant is None:
            continue
        ran += 1
        code, out, err = _run("info", mutant, "--json")
        assert code in (0, 2), (kind, code, err)
        _check_lines(err, mutant)
        pattern = RECORD_PATTERNS.get(mutant.suffix.lower())
        if code == 0 and pattern and mutant.is_file() and not err.strip():
            held = len(re.findall(pattern, mutant.read_bytes()))
            info = json.loads(out)
            read = info.get("n_spectra")
            assert read is None or read >= held, (kind, read, held)
        code, out, err = _run("peaks", mutant, "--json")
        assert code in (0, 2), (kind, code, err)
        _check_lines(err, mutant)
    assert ran >= 3
