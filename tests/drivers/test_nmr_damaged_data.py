"""Damaged NMR data sections: one clean error naming the file, never numpy's warnings.

Mutants of the real samples, made in tmp_path: byte-swapped (flipped) float64 JEOL
data, NaN written into Prospa, NMRPipe and nmrML arrays, wiped (all-zero) data.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest

from fentid.drivers import read
from fentid.drivers.jeol import parse_header
from fentid.errors import CorruptDataError, SpectrumError
from fentid.spectra.model import Fid, Provenance
from tests.conftest import FORMATS
from tests.test_cli_errors import assert_clean_error

JEOL = FORMATS / "jeol_delta/Rutin_3080ug200uL_DMSOd6_qHNMR_400MHz_Jeol.jdf"
SPINSOLVE = FORMATS / "magritek_spinsolve/230213-131158 Proton (lyogel)"
PIPE = FORMATS / "nmrpipe/nmrglue_example_integrate_1d/1d_data.ft"
NMRML = FORMATS / "nmrml/VZBBI_13R03_GABA_1H.nmrML"
BRUKER = FORMATS / "bruker_topspin/aspirin-1h/1"


def run_cli_warnings_on(*args):
    """``fentid`` as a user runs it: Python's default warning filters, not ``ignore``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run([sys.executable, "-m", "fentid.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False, env=env)


def _jeol_mutant(tmp_path, edit, name):
    raw = bytearray(JEOL.read_bytes())
    head = parse_header(bytes(raw))
    start, length = head["data_start"], head["data_length"]
    raw[start:start + length] = edit(bytes(raw[start:start + length]))
    path = tmp_path / name
    path.write_bytes(bytes(raw))
    return path


def _byte_swapped(data: bytes) -> bytes:
    return np.frombuffer(data, dtype="u1").reshape(-1, 8)[:, ::-1].tobytes()


def test_jeol_with_flipped_bytes_is_corrupt_and_says_why(tmp_path):
    path = _jeol_mutant(tmp_path, _byte_swapped, "flipped.jdf")
    with pytest.raises(CorruptDataError, match="wrong byte order") as info:
        read(path)
    assert str(path) in str(info.value)
    for command in ("info", "peaks"):
        proc = run_cli_warnings_on(command, path)
        line = assert_clean_error(proc, path, "NaN or infinite")
        # numpy's "invalid value encountered in subtract" / "overflow encountered" never
        # reach the user, and the bare model error "FID data must be finite" is gone
        assert "encountered" not in proc.stderr and "RuntimeWarning" not in proc.stderr
        assert "must be finite" not in line


def test_wiped_jeol_data_is_corrupt(tmp_path):
    path = _jeol_mutant(tmp_path, lambda data: bytes(len(data)), "zeros.jdf")
    assert_clean_error(run_cli_warnings_on("peaks", path), path, "only zeros")


def test_spinsolve_nan_in_prospa_data(tmp_path):
    folder = tmp_path / "spin"
    shutil.copytree(SPINSOLVE, folder)
    data = folder / "data.1d"
    data.chmod(0o644)
    raw = bytearray(data.read_bytes())
    n = (len(raw) - 32) // 12
    raw[32 + 4 * n + 8 * 100:32 + 4 * n + 8 * 100 + 4] = np.float32(np.nan).tobytes()
    data.write_bytes(bytes(raw))
    assert_clean_error(run_cli_warnings_on("peaks", folder), data, "1 NaN or infinite")


def test_nmrpipe_nan_in_data(tmp_path):
    raw = bytearray(PIPE.read_bytes())
    raw[2048 + 400:2048 + 404] = np.float32(np.inf).tobytes()
    path = tmp_path / "inf.ft"
    path.write_bytes(bytes(raw))
    assert_clean_error(run_cli_warnings_on("info", path), path, "NaN or infinite")


def test_nmrml_nan_in_fid_data(tmp_path):
    text = NMRML.read_text(encoding="utf-8")
    match = re.search(r"(<fidData[^>]*>)([^<]+)(</fidData>)", text)
    values = np.frombuffer(zlib.decompress(base64.b64decode(match.group(2))), "<c16").copy()
    values[10] = complex(np.nan, 0.0)
    encoded = base64.b64encode(zlib.compress(values.tobytes())).decode()
    path = tmp_path / "nan.nmrML"
    path.write_text(text[:match.start(2)] + encoded + text[match.end(2):], encoding="utf-8")
    with pytest.raises(CorruptDataError, match=r"fidData holds 1 of \d+ values"):
        read(path)
    assert_clean_error(run_cli_warnings_on("peaks", path), path)


def test_wiped_bruker_fid_is_corrupt(tmp_path):
    folder = tmp_path / "1"
    shutil.copytree(BRUKER, folder)
    fid = folder / "fid"
    fid.chmod(0o644)
    fid.write_bytes(bytes(fid.stat().st_size))
    assert_clean_error(run_cli_warnings_on("peaks", folder), fid, "only zeros")


def test_model_errors_name_the_source():
    prov = Provenance(source="/data/x.fid", driver="test")
    with pytest.raises(SpectrumError) as info:
        Fid(data=np.array([1, np.nan, 3], complex), sw_hz=1000.0, obs_mhz=400.0,
            carrier_ppm=0.0, nucleus="1H", provenance=prov)
    assert str(info.value) == "/data/x.fid: FID data must be finite"
    with pytest.raises(SpectrumError) as info:
        Fid(data=np.array([1, np.nan, 3], complex), sw_hz=1000.0, obs_mhz=400.0,
            carrier_ppm=0.0, nucleus="1H")
    assert info.value.path is None  # nothing to name: the message alone
