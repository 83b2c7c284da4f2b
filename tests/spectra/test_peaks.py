"""Peak picking and integration: TopSpin's own peak lists and integrals, plus synthetic truths."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import signal

from fentid.drivers import read
from fentid.errors import DataQualityWarning, ProcessingError
from fentid.spectra import nmr, peaks
from fentid.spectra.model import Spectrum
from fentid.spectra.nmr_noise import estimate_noise
from tests.conftest import FORMATS

BRUKER = FORMATS / "bruker_topspin"


def topspin_peaklist(folder) -> list[float]:
    text = (folder / "pdata/1/peaklist.xml").read_text()
    return [float(v) for v in re.findall(r'F1="(-?[\d.]+)"', text)]


def topspin_integrals(folder) -> list[tuple[float, float, float]]:
    """(from_ppm, to_ppm, integral) rows of TopSpin's integrals.txt."""
    text = (folder / "pdata/1/integrals.txt").read_text()
    rows = re.findall(r"^\s*\d+\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*$", text, re.MULTILINE)
    return [tuple(map(float, row)) for row in rows]


@pytest.fixture(scope="module")
def aspirin():
    return nmr.process_default(read(BRUKER / "aspirin-1h/1").items[0])


# --- real data: TopSpin's own lists --------------------------------------------------------

def test_aspirin_topspin_peaklist_reproduced(aspirin):
    listed = topspin_peaklist(BRUKER / "aspirin-1h/1")
    # facts: strongest 2.2937 (CH3), aromatics 8.0532/8.0271/7.5293/7.2800/7.0817, CDCl3 7.2556
    assert len(listed) == 23 and 2.2937 in listed and 7.2556 in listed
    picked = peaks.pick_peaks(aspirin)
    for ppm in listed:
        assert np.min(np.abs(picked.position - ppm)) <= 0.01, ppm
    strongest = picked.position[np.argmax(picked.intensity)]
    assert strongest == pytest.approx(2.2937, abs=0.01)


@pytest.mark.parametrize("row", ["aspirin-1h/1", "aspirin-1h-processed/1", "VZBBI_13R03_GABA/1H"])
def test_topspin_relative_integrals_reproduced(row):
    folder = BRUKER / row
    rows = topspin_integrals(folder)
    assert len(rows) >= 2
    spec = nmr.process_default(read(folder).items[0])
    ours = peaks.integrate(spec, [(a, b) for a, b, _ in rows])
    theirs = np.array([v for *_, v in rows])
    norm = int(np.argmin(np.abs(theirs - 1.0))) if row.startswith("aspirin") else 0
    relative = ours / ours[norm] * theirs[norm]
    np.testing.assert_allclose(relative, theirs, rtol=0.05)


def test_aspirin_integral_facts_match_file():
    # the index facts quote the same numbers the test reads from integrals.txt
    rows = topspin_integrals(BRUKER / "aspirin-1h/1")
    assert [round(v, 3) for *_, v in rows] == [2.579, 1.000, 1.069, 0.972, 2.953]


def test_peak_fields_are_consistent(aspirin):
    picked = peaks.pick_peaks(aspirin)
    assert picked.unit == "ppm" and picked.nucleus == "1H" and picked.technique == "nmr"
    assert np.all(np.diff(picked.position) >= 0)
    assert np.all(picked.intensity > 0) and np.all(picked.width > 0) and np.all(picked.area > 0)
    noise = picked.metadata["noise"]
    np.testing.assert_allclose(picked.snr, picked.intensity / noise)
    assert picked.snr.min() >= peaks.DEFAULT_SNR
    assert picked.provenance.steps[-1].name == "pick_peaks"


def test_higher_snr_threshold_picks_a_subset(aspirin):
    low = peaks.pick_peaks(aspirin, snr=10)
    high = peaks.pick_peaks(aspirin, snr=1000)
    assert 0 < len(high) < len(low)
    assert set(np.round(high.position, 6)) <= set(np.round(low.position, 6))


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_bad_snr_is_refused(aspirin, bad):
    with pytest.raises(ProcessingError, match="snr"):
        peaks.pick_peaks(aspirin, snr=bad)


# --- synthetic truths -----------------------------------------------------------------------

def lorentzian_spectrum(lines, noise=0.0, n=32768, lo=0.0, hi=10.0, seed=0) -> Spectrum:
    """Sum of Lorentzians [(centre_ppm, height, fwhm_ppm)] plus Gaussian noise (std ``noise``)."""
    x = np.linspace(lo, hi, n)
    y = np.zeros(n)
    for c, h, w in lines:
        y += h / (1 + ((x - c) / (w / 2)) ** 2)
    y += noise * np.random.default_rng(seed).standard_normal(n)
    return Spectrum(axis=x, intensities=y, unit="ppm", technique="nmr", nucleus="1H")


LINES = [(1.234567, 100.0, 0.01), (3.3, 50.0, 0.02), (7.77, 20.0, 0.005)]


def test_positions_widths_heights_of_lorentzians():
    picked = peaks.pick_peaks(lorentzian_spectrum(LINES, noise=0.1))
    assert len(picked) == 3
    step = 10.0 / 32767
    for (c, h, w), pos, height, width in zip(LINES, picked.position, picked.intensity,
                                             picked.width, strict=True):
        assert pos == pytest.approx(c, abs=step / 4)
        assert height == pytest.approx(h, rel=0.02)
        assert width == pytest.approx(w, rel=0.05)


def test_area_of_isolated_lorentzian():
    # integral of h / (1 + (2x/w)^2) over +-3 FWHM is h*w/2 * 2*atan(6)
    picked = peaks.pick_peaks(lorentzian_spectrum([(5.0, 10.0, 0.01)]))
    expected = 10.0 * 0.01 / 2 * 2 * np.arctan(6.0)
    assert picked.area[0] == pytest.approx(expected, rel=0.02)


def test_snr_matches_known_noise():
    spec = lorentzian_spectrum([(5.0, 100.0, 0.01)], noise=1.0, seed=4)
    picked = peaks.pick_peaks(spec)
    assert picked.metadata["noise"] == pytest.approx(1.0, rel=0.15)
    assert picked.snr[np.argmax(picked.intensity)] == pytest.approx(100.0, rel=0.15)


def test_noise_only_gives_no_peaks_and_says_so():
    spec = lorentzian_spectrum([], noise=1.0, seed=7)
    with pytest.warns(DataQualityWarning, match=r"0 peaks picked: no peak reaches SNR 10"):
        assert len(peaks.pick_peaks(spec)) == 0


def test_noise_estimate_survives_zero_filling_correlation():
    """Why not first differences: zero filling correlates neighbours, making that estimate ~40 % low."""
    rng = np.random.default_rng(11)
    fid = rng.standard_normal(4096) + 1j * rng.standard_normal(4096)
    padded = np.concatenate([fid, np.zeros(3 * 4096)])
    y = np.fft.fft(padded).real
    true = y.std()
    assert estimate_noise(y) == pytest.approx(true, rel=0.1)
    diff_based = np.median(np.abs(np.diff(y))) * 1.4826 / np.sqrt(2)
    assert diff_based < 0.7 * true


def test_noise_estimate_ignores_peaks_and_tilt():
    spec = lorentzian_spectrum(LINES, noise=0.5, seed=2)
    tilted = spec.intensities + np.linspace(-30, 30, len(spec))
    assert estimate_noise(tilted) == pytest.approx(0.5, rel=0.15)


def test_integrate_regions_either_order_and_additive():
    spec = lorentzian_spectrum(LINES)
    whole = peaks.integrate(spec, [(0, 10)])[0]
    parts = peaks.integrate(spec, [(5, 0), (5, 10)])
    assert parts.sum() == pytest.approx(whole)
    # total Lorentzian area h*w*pi/2 (truncated tails at 0 and 10 ppm cost < 1 %)
    assert whole == pytest.approx(sum(h * w * np.pi / 2 for _, h, w in LINES), rel=0.01)


# --- artefact rejection: TopSpin's lists bound what an analyst expects ----------------------

@pytest.fixture(scope="module")
def gaba():
    return {nucleus: nmr.process_default(read(BRUKER / f"VZBBI_13R03_GABA/{nucleus}").items[0])
            for nucleus in ("1H", "13C")}


def assert_all_found(picked, listed, tol=0.01):
    missing = [ppm for ppm in listed if np.min(np.abs(picked.position - ppm)) > tol]
    assert not missing, missing


def test_aspirin_default_list_is_near_topspin_size(aspirin):
    listed = topspin_peaklist(BRUKER / "aspirin-1h/1")
    picked = peaks.pick_peaks(aspirin)
    assert_all_found(picked, listed)
    # the default keeps baseline bumps and small impurity/13C-satellite lines that
    # TopSpin's MI cut (no relative height by default); before the ripple and
    # resolution tests it returned 245 lines (10.7x)
    assert len(picked) <= 6 * len(listed)


def test_aspirin_topspin_sized_list_with_relative_height(aspirin):
    listed = topspin_peaklist(BRUKER / "aspirin-1h/1")
    picked = peaks.pick_peaks(aspirin, min_relative_height=1e-3)
    assert_all_found(picked, listed)
    assert len(picked) <= 2 * len(listed)


def test_gaba_1h_topspin_lines_kept(gaba):
    # GABA's TopSpin list was picked with MI=0 (proc): it holds 13C satellites at
    # 0.04-0.1 % of the tallest non-solvent line; 1.9874 ppm is under 10 noise levels
    listed = topspin_peaklist(BRUKER / "VZBBI_13R03_GABA/1H")
    assert len(listed) == 50
    assert_all_found(peaks.pick_peaks(gaba["1H"], snr=8), listed)
    default = peaks.pick_peaks(gaba["1H"])
    assert_all_found(default, [ppm for ppm in listed if ppm != 1.9874])
    assert len(default) <= len(listed) + 5


def test_gaba_13c_four_lines_found(gaba):
    listed = topspin_peaklist(BRUKER / "VZBBI_13R03_GABA/13C")
    assert len(listed) == 4
    assert_all_found(peaks.pick_peaks(gaba["13C"]), listed, tol=0.01)


def test_ripple_on_a_tall_line_is_not_a_peak():
    # a Lorentzian whose flank carries a 4 % wiggle (a local maximum every 0.004 ppm,
    # as truncation ripples do) plus a small real line 200x lower elsewhere
    x = np.linspace(0.0, 10.0, 32768)
    tall = 1000.0 / (1 + ((x - 5.0) / 0.005) ** 2)
    ripple = 0.04 * tall * np.cos(2 * np.pi * (x - 5.0) / 0.004)
    flank = (np.abs(x - 5.0) > 0.01) & (np.abs(x - 5.0) < 0.2)
    y = tall + np.where(flank, ripple, 0.0) + 5.0 / (1 + ((x - 2.0) / 0.005) ** 2)
    bare = signal.find_peaks(y, height=0.1)[0]
    assert bare.size > 20  # the wiggles are local maxima well above the noise
    spec = Spectrum(axis=x, intensities=y + 0.002 * np.random.default_rng(3).standard_normal(x.size),
                    unit="ppm", technique="nmr", nucleus="1H")
    picked = peaks.pick_peaks(spec)
    on_flank = (np.abs(picked.position - 5.0) > 0.005) & (np.abs(picked.position - 5.0) < 0.25)
    assert not on_flank.any(), picked.position[on_flank]
    for centre in (2.0, 5.0):
        assert np.min(np.abs(picked.position - centre)) < 0.001


def test_resolved_doublet_both_lines_kept():
    picked = peaks.pick_peaks(lorentzian_spectrum([(3.0, 100.0, 0.004), (3.006, 90.0, 0.004)],
                                                  noise=0.05))
    assert len(picked) == 2


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan")])
def test_bad_relative_height_is_refused(aspirin, bad):
    with pytest.raises(ProcessingError, match="min_relative_height"):
        peaks.pick_peaks(aspirin, min_relative_height=bad)
