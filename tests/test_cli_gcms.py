"""``fentid peaks RUN --json`` on real GC-MS runs lists deconvoluted components."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import find_peaks

from fentid.drivers import read
from tests.conftest import FORMATS, run_cli


@pytest.mark.parametrize("rel", ["netcdf_andi/HP_MS.CDF", "agilent_d/yellow.D"])
def test_peaks_json_lists_components_at_the_tic_peaks(rel):
    proc = run_cli("peaks", FORMATS / rel, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    comps = report["components"]
    assert comps
    for comp in comps:
        assert {"retention_time_s", "area", "peaks"} <= set(comp)
        assert comp["area"] > 0
        assert all(set(p) == {"mz", "intensity"} for p in comp["peaks"])
        assert max(p["intensity"] for p in comp["peaks"]) == pytest.approx(999.0)
    run = read(FORMATS / rel).items[0]
    tic = run.tic()
    apex = int(np.argmax(tic))  # the biggest TIC peak, found without fentid's code
    rts = np.array([c["retention_time_s"] for c in comps])
    scan_s = float(np.median(np.diff(run.retention_time_s)))
    assert np.min(np.abs(rts - run.retention_time_s[apex])) <= 3 * scan_s
    apexes, _ = find_peaks(tic, prominence=0.05 * tic.max())
    assert len(comps) >= apexes.size


def test_peaks_text_output_names_components():
    proc = run_cli("peaks", FORMATS / "netcdf_andi/HP_MS.CDF")
    assert proc.returncode == 0, proc.stderr
    assert "components" in proc.stdout and "RT" in proc.stdout


def test_peaks_on_aia_chromatogram_fails_cleanly():
    proc = run_cli("peaks", FORMATS / "netcdf_andi/agilent_hplc.cdf", "--json")
    assert proc.returncode == 2
    assert proc.stdout == "" and "no mass spectra" in proc.stderr
