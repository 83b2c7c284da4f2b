"""imzML driver: the imzML.org examples against pyimzml and formats/index.csv facts."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from fentid.drivers import find_driver, read
from fentid.drivers.imzml import sniff
from fentid.drivers.registry import read_head
from fentid.errors import CorruptDataError
from tests.conftest import FORMATS, run_cli

IMZML = FORMATS / "imzml"
CONT = IMZML / "Example_Continuous.imzML"
PROC = IMZML / "Example_Processed.imzML"


def _sample_files():
    return sorted(p for p in FORMATS.rglob("*") if p.is_file() and "expected" not in p.parts
                  and p.name not in ("index.csv", "SHA1SUMS"))


def test_sniff_claims_exactly_the_imzml_pairs():
    claimed = {p for p in _sample_files() if sniff(p, read_head(p))}
    assert claimed == {CONT, PROC, CONT.with_suffix(".ibd"), PROC.with_suffix(".ibd")}


@pytest.mark.parametrize("path", [CONT, PROC], ids=lambda p: p.stem)
def test_pixels_identical_to_pyimzml(path):
    from pyimzml.ImzMLParser import ImzMLParser

    ds = read(path)
    parser = ImzMLParser(str(path))
    assert len(ds.items) == len(parser.coordinates) == 9
    for i, (x, y, _z) in enumerate(parser.coordinates):
        mz, inten = parser.getspectrum(i)
        spec = ds.items[i]
        assert (spec.metadata["position_x"], spec.metadata["position_y"]) == (x, y)
        assert np.array_equal(spec.axis, mz) and np.array_equal(spec.intensities, inten)


@pytest.mark.parametrize("path, storage", [(CONT, "continuous"), (PROC, "processed")])
def test_index_facts(path, storage):
    ds = read(path)
    meta = ds.metadata
    assert meta["storage"] == storage
    assert meta["n_pixels"] == 9 and meta["max_pixels_x"] == 3 and meta["max_pixels_y"] == 3
    assert meta["polarity"] == "negative"
    sha1 = hashlib.sha1(path.with_suffix(".ibd").read_bytes()).hexdigest()
    assert meta["ibd_sha1"] == sha1
    assert all(not s.centroided for s in ds.items)  # spectrum_mode profile


def test_continuous_facts():
    ds = read(CONT)
    for spec in ds.items:
        assert len(spec) == 8399
        assert 100 < spec.axis.min() and spec.axis.max() < 800
        assert 0 <= spec.intensities.min()
        assert spec.axis.dtype == np.float64  # stored float32, widened exactly (pyimzml test)
    lo, hi = ds.metadata["mz_range"]
    assert 100 < lo < hi < 800


def test_ibd_path_reads_its_imzml():
    assert find_driver(CONT.with_suffix(".ibd")).name == "imzml"
    assert read(CONT.with_suffix(".ibd")).path == str(CONT)


def test_info_through_cli():
    proc = run_cli("info", "--json", PROC)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["driver"] == "imzml" and report["n_spectra"] == 9
    assert report["storage"] == "processed"


def _pair(tmp_path, imzml, ibd_bytes):
    dst = tmp_path / "image.imzML"
    shutil.copyfile(imzml, dst)
    if ibd_bytes is not None:
        (tmp_path / "image.ibd").write_bytes(ibd_bytes)
    return dst


@pytest.mark.parametrize("ibd, reason", [
    (lambda: None, "missing"),
    (lambda: PROC.with_suffix(".ibd").read_bytes(), "UUID"),
    (lambda: CONT.with_suffix(".ibd").read_bytes()[:100_000], "truncated"),
], ids=["missing-ibd", "other-image-ibd", "truncated-ibd"])
def test_bad_pairs_through_cli(tmp_path, ibd, reason):
    path = _pair(tmp_path, CONT, ibd())
    with pytest.raises(CorruptDataError, match=reason):
        read(path)
    proc = run_cli("info", path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and reason in proc.stderr
