"""Broad lines (solid-state CP/MAS) and empty peak lists: found, or said out loud.

wild/README.md: ``bruker_solid_CP_94/`` is a "solid-state 13C CP/MAS spectrum with a
visible line (S/N about 20); today 0 peaks are picked".  Its acqus was written for
``.../alginate/94``: alginate's carboxyl carbon lies at 175-177 ppm and its ring
carbons C2-C5 at 65-80 ppm in CP/MAS (e.g. Salomonsen et al., Biomacromolecules 10
(2009) 3186), which is where the lines must come out.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fentid.drivers import read
from fentid.errors import DataQualityWarning
from fentid.spectra import nmr, peaks
from fentid.spectra.model import Spectrum
from fentid.spectra.nmr_noise import NOISE_SEGMENTS, estimate_noise, noise_segments
from fentid.spectra.nmr_phase import check_phase
from tests.conftest import DATA, FORMATS, run_cli

SOLID = DATA / "wild" / "bruker_solid_CP_94"


@pytest.fixture(scope="module")
def solid():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectrum = nmr.process_default(read(SOLID).items[0])
        picked = peaks.pick_peaks(spectrum)
    return spectrum, picked, [str(w.message) for w in caught]


def test_solid_state_line_is_found_at_about_snr_20(solid):
    spectrum, picked, said = solid
    assert len(picked) >= 1
    tallest = int(np.argmax(picked.snr))
    assert 10 <= picked.snr[tallest] <= 40  # README: S/N about 20
    assert 65 <= picked.position[tallest] <= 80  # alginate C2-C5
    assert np.any((picked.position > 170) & (picked.position < 180))  # carboxyl
    # the spectrum is phased: its lines are positive and the check says so
    assert spectrum.metadata["phase"]["checked"] is True
    assert np.all(picked.intensity > 0)
    # and the user is told the lines needed broader line broadening, with the file
    assert any(m.startswith(f"{SOLID}: no line stands out of the noise with the default")
               for m in said)
    assert spectrum.metadata["broad_lines"]["lb_hz"] == pytest.approx(
        read(SOLID).items[0].sw_hz / nmr.BROAD_LINE_SW_FRACTION)


def test_solid_state_snr_is_measured_against_the_real_noise(solid):
    """The SNR reported is the line over the standard deviation of the spectrum's
    signal-free stretches (no alginate carbon below 20 or above 200 ppm)."""
    spectrum, picked, _ = solid
    x, y = spectrum.axis, spectrum.intensities
    resid = []
    for lo, hi in ((-135.0, -20.0), (200.0, 260.0)):
        keep = (x > lo) & (x < hi)
        resid.append(y[keep] - np.polyval(np.polyfit(x[keep], y[keep], 2), x[keep]))
    sd = float(np.std(np.concatenate(resid)))
    assert picked.metadata["noise"] == pytest.approx(sd, rel=0.2)


def test_cli_peaks_solid_state():
    proc = run_cli("peaks", "--json", SOLID)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["nucleus"] == "13C" and out["peaks"]
    assert max(p["snr"] for p in out["peaks"]) >= 10


def test_nothing_passing_is_said_not_silent():
    proc = run_cli("peaks", "--json", "--snr", "60", SOLID)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["peaks"] == []
    # run_cli silences Python warnings; the same call through the API:
    with pytest.warns(DataQualityWarning, match="broad lines"):
        spectrum = nmr.process_default(read(SOLID).items[0])
    with pytest.warns(DataQualityWarning, match=r"0 peaks picked: no peak reaches SNR 60 "
                                                r"\(the tallest point, at 6\d\.\d+ ppm"):
        assert len(peaks.pick_peaks(spectrum, snr=60)) == 0


@pytest.mark.parametrize("row", ["bruker_topspin/VZBBI_13R03_GABA/13C",
                                 "bruker_topspin/aspirin-1h/1",
                                 "varian_vnmr/THA_f22-23/13C.fid"])
def test_solution_spectra_keep_the_default_line_broadening(row):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fid = read(FORMATS / row).items[0]
        spectrum = nmr.process_default(fid)
    assert "broad_lines" not in spectrum.metadata
    assert spectrum.metadata["line_broadening_hz"] == nmr.DEFAULT_LB_HZ[fid.nucleus]
    point_hz = (spectrum.axis[1] - spectrum.axis[0]) * fid.obs_mhz
    assert noise_segments(len(spectrum), point_hz, spectrum.metadata["line_broadening_hz"]) == NOISE_SEGMENTS


def _smoothed_noise(width_points: float, n: int = 4096, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    fid = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.exp(
        -np.pi * width_points * t / (2 * n))
    return np.fft.fft(np.concatenate([fid, np.zeros(n)])).real


def test_noise_segments_keep_the_noise_estimate_honest_under_line_broadening():
    """A Lorentzian 10 points wide correlates the noise: 64 segments read it 40 % low."""
    y = _smoothed_noise(10.0)  # 1 Hz per point, 10 Hz line broadening
    assert estimate_noise(y) / np.std(y) < 0.7
    honest = estimate_noise(y, segments=noise_segments(y.size, 1.0, 10.0)) / np.std(y)
    assert honest == pytest.approx(0.9, abs=0.07)  # as unsmoothed noise reads
    unsmoothed = _smoothed_noise(0.5)
    assert estimate_noise(unsmoothed) / np.std(unsmoothed) == pytest.approx(0.9, abs=0.07)


def _broad_lines(p0_deg=0.0, n=8192, noise=0.0):
    """A CP/MAS-like complex spectrum: a tall broad line and a smaller one on its tail."""
    x = np.arange(n, dtype=float)
    data = np.zeros(n, complex)
    for centre, height, half in ((3000, 1.0, 150), (3800, 0.35, 120), (6500, 0.5, 100)):
        data += height * half / (half + 1j * (x - centre))  # absorption + i dispersion
    data += noise * (np.random.default_rng(1).standard_normal(n)
                     + 1j * np.random.default_rng(2).standard_normal(n))
    return data * np.exp(1j * np.deg2rad(p0_deg))


def test_phase_check_judges_broad_overlapping_lines():
    # the line on the tall one's dispersive tail is not absorptive even when perfectly
    # phased; it is not judged, so a correct phase passes ...
    assert check_phase(_broad_lines(noise=1e-3))
    # ... while real phase errors still fail
    for error in (45.0, 90.0, 180.0):
        assert not check_phase(_broad_lines(p0_deg=error, noise=1e-3)), error


def test_flat_spectrum_says_it_is_flat():
    spec = Spectrum(axis=np.linspace(0, 10, 1000), intensities=np.zeros(1000), unit="ppm",
                    technique="nmr", nucleus="1H")
    with pytest.warns(DataQualityWarning, match="flat"):
        assert len(peaks.pick_peaks(spec)) == 0
