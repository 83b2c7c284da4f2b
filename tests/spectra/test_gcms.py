"""GC-MS processing: binning, centroiding, noise, baseline, bleed, peaks, deconvolution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy.signal import find_peaks

from fentid.drivers import read
from fentid.errors import ProcessingError
from fentid.spectra import chromatography as chrom
from fentid.spectra import deconvolution as deconv
from fentid.spectra import gcms
from fentid.spectra.model import Run, Spectrum
from tests.conftest import FORMATS, MS

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"


def load_msp(names: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tiny MSP reader for the test: peaks of the records named ``names``."""
    out: dict[str, list] = {}
    current = None
    with open(SWGDRUG, encoding="latin-1") as fh:
        for line in fh:
            line = line.strip()
            if line.lower().startswith("name:"):
                current = line[5:].strip()
                if current in names:
                    out[current] = []
            elif current in out and line[:1].isdigit():
                mz, inten = line.replace(",", " ").split()[:2]
                out[current].append((float(mz), float(inten)))
    assert set(out) == names, f"missing in SWGDRUG39.msp: {names - set(out)}"
    return {k: (np.array(v)[:, 0], np.array(v)[:, 1]) for k, v in out.items()}


def cosine(a, b) -> float:
    keys = np.union1d(a[0], b[0])
    va, vb = np.zeros(keys.size), np.zeros(keys.size)
    va[np.searchsorted(keys, a[0])] = a[1]
    vb[np.searchsorted(keys, b[0])] = b[1]
    return float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))


def dense_run(matrix: np.ndarray, masses: np.ndarray, scan_s: float = 0.5) -> Run:
    n = matrix.shape[0]
    return Run(retention_time_s=60.0 + scan_s * np.arange(n),
               offsets=np.arange(n + 1) * masses.size,
               mz=np.tile(masses.astype(float), n), intensity=matrix.ravel())


# --- building blocks --------------------------------------------------------------------

def test_nominal_mass_uses_the_0649_boundary():
    got = chrom.nominal_mass([100.649, 100.65, 99.66, 57.07, 304.2])
    np.testing.assert_array_equal(got, [100, 101, 100, 57, 304])
    np.testing.assert_array_equal(chrom.nominal_mass([100.5, 100.51], boundary=0.5), [100, 101])


def test_centroid_of_gaussian_profile_peaks():
    grid = np.arange(99.0, 102.0, 0.01)
    profile = 1000 * np.exp(-0.5 * ((grid - 100.2) / 0.05) ** 2) \
        + 300 * np.exp(-0.5 * ((grid - 101.4) / 0.05) ** 2)
    offsets, mz, inten = chrom.centroid_arrays(np.array([0, grid.size]), grid, profile)
    assert offsets.tolist() == [0, 2]
    np.testing.assert_allclose(mz, [100.2, 101.4], atol=0.002)
    assert inten[0] / inten[1] == pytest.approx(1000 / 300, rel=0.02)


def test_noise_sd_recovers_gaussian_noise_under_peaks_and_drift():
    rng = np.random.default_rng(7)
    t = np.arange(2000)
    trace = 5.0 * rng.standard_normal(t.size) + 0.05 * t + 800 * np.exp(-0.5 * ((t - 900) / 4) ** 2)
    assert chrom.noise_sd(trace[:, None])[0] == pytest.approx(5.0, rel=0.1)


def test_baseline_follows_drift_not_peaks():
    t = np.arange(600, dtype=float)
    drift = 100 + 0.5 * t
    trace = drift + 5000 * np.exp(-0.5 * ((t - 300) / 3) ** 2)
    base = chrom.baseline(trace[:, None], 61)[:, 0]
    assert np.max(np.abs(base[50:-50] - drift[50:-50])) < 20
    assert trace[300] - base[300] > 4900


def test_segment_break_found_at_a_method_step_but_not_at_peaks():
    rng = np.random.default_rng(1)
    t = np.arange(800)
    tic = np.where(t < 400, 2e5, 1e4) + 100 * rng.standard_normal(t.size)
    tic += 3e5 * np.exp(-0.5 * ((t - 600) / 4) ** 2)
    np.testing.assert_array_equal(chrom.segment_breaks(tic, run_scans=30), [400])


def test_bleed_ion_tracking_the_baseline_is_removed_from_components():
    rng = np.random.default_rng(3)
    masses = np.arange(50, 300)
    n = 400
    t = np.arange(n)
    matrix = rng.normal(50, 5, (n, masses.size)).clip(0)
    bleed = 2000 + 20 * t
    for ion in (207, 281):
        matrix[:, ion - 50] += bleed
    compound = {91: 999, 119: 400, 207: 150, 150: 300}  # 207 also a real fragment
    profile = np.exp(-0.5 * ((t - 200) / 3) ** 2)
    for ion, rel in compound.items():
        matrix[:, ion - 50] += 50 * rel * profile
    run = dense_run(matrix, masses)
    (comp,) = gcms.extract_components(run)
    assert 207 not in comp.peaks.position and 281 not in comp.peaks.position
    assert {91, 119, 150} <= set(comp.peaks.position.astype(int))
    removed = set(comp.peaks.metadata["removed_bleed_ions"])
    assert {207, 281} <= removed and not {91, 119, 150} & removed


@pytest.mark.parametrize("seed", range(5))
def test_nonnegative_lstsq_matches_scipy_nnls(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(30)
    design = np.c_[np.exp(-0.5 * ((t - 12) / 3) ** 2), np.exp(-0.5 * ((t - 17) / 3) ** 2),
                   np.ones(t.size)]
    truth = rng.uniform(-1, 3, (3, 50))
    block = design @ truth + 0.05 * rng.standard_normal((t.size, 50))
    got = deconv.nonnegative_lstsq(design, block)
    ref = np.column_stack([optimize.nnls(design, block[:, j])[0] for j in range(50)])
    np.testing.assert_allclose(got, ref, atol=1e-8)


def test_very_short_run_gives_one_component_per_scan():
    matrix = np.array([[10.0, 999.0, 0.0, 5.0], [0.0, 20.0, 400.0, 0.0]])
    comps = gcms.extract_components(dense_run(matrix, np.arange(50, 54)))
    assert [c.scan for c in comps] == [0, 1]
    np.testing.assert_array_equal(comps[0].peaks.position, [50, 51, 53])
    assert comps[1].peaks.intensity.max() == pytest.approx(999.0)


def test_msms_scans_are_left_out_and_msms_only_runs_raise():
    masses = np.arange(50, 54)
    matrix = np.ones((6, 4))
    run = dense_run(matrix, masses).replace(ms_level=[1, 2, 1, 2, 1, 2])
    assert [c.scan for c in gcms.extract_components(run)] == [0, 1, 2]
    with pytest.raises(ProcessingError, match="only MS/MS"):
        gcms.extract_components(dense_run(matrix, masses).replace(ms_level=[2] * 6))


# --- real GC-MS runs: components at the TIC peaks ------------------------------------------

GC_RUNS = [("agilent_d/yellow.D", "data.ms"), ("netcdf_andi/HP_MS.CDF", None),
           ("netcdf_andi/P071.CDF", None)]


@pytest.fixture(scope="module", params=GC_RUNS, ids=[r[0] for r in GC_RUNS])
def run_and_components(request):
    rel, channel = request.param
    ds = read(FORMATS / rel)
    run = next(r for r in ds.items if channel is None or r.metadata["channel"] == channel)
    return run, gcms.extract_components(run)


def test_every_tic_peak_has_a_component(run_and_components):
    run, comps = run_and_components
    tic = run.tic()
    apexes, _ = find_peaks(tic, prominence=0.05 * tic.max())  # independent of fentid
    assert apexes.size >= 3
    scan_s = float(np.median(np.diff(run.retention_time_s)))
    rts = np.array([c.retention_time_s for c in comps])
    for apex in apexes:
        nearest = np.min(np.abs(rts - run.retention_time_s[apex]))
        assert nearest <= 3 * scan_s, f"TIC peak at {run.retention_time_s[apex]:.2f} s unmatched"


def test_component_spectra_are_normalised_nominal_peak_lists(run_and_components):
    _, comps = run_and_components
    assert comps
    for c in comps:
        assert c.peaks.unit == "m/z" and c.peaks.technique == "ms"
        assert c.peaks.intensity.max() == pytest.approx(999.0)
        np.testing.assert_array_equal(c.peaks.position, np.round(c.peaks.position))
        assert c.start_s <= c.retention_time_s <= c.stop_s
        assert c.area > 0
    assert [c.retention_time_s for c in comps] == sorted(c.retention_time_s for c in comps)


# --- synthetic co-elution of two real SWGDRUG spectra -----------------------------------

PAIRS = [("Fentanyl", "Acetyl fentanyl"), ("Cocaine", "Heroin"), ("Fentanyl", "Caffeine")]
LIBRARY = load_msp({name for pair in PAIRS for name in pair})


def coelution_run(a, b, amounts, separation_scans=6, sigma_scans=3.0, seed=0):
    rng = np.random.default_rng(seed)
    masses = np.arange(35, 450)
    n = 240
    t = np.arange(n)
    matrix = np.zeros((n, masses.size))
    for (mz, inten), centre, amount in zip((a, b), (110, 110 + separation_scans), amounts,
                                            strict=True):
        profile = np.exp(-0.5 * ((t - centre) / sigma_scans) ** 2)
        scaled = inten / inten.max() * 1e5 * amount
        matrix[:, np.searchsorted(masses, mz)] += np.outer(profile, scaled)
    counting = rng.poisson(matrix / 20.0) * 20.0  # ion statistics
    matrix = np.clip(counting + 300 + 100 * rng.standard_normal(matrix.shape), 0, None)
    return dense_run(matrix, masses), 60.0 + 0.5 * np.array([110, 110 + separation_scans])


@pytest.mark.parametrize("amounts", [(1.0, 1.0), (1.0, 0.3), (0.3, 1.0)])
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_coeluting_pair_is_separated_into_both_spectra(pair, amounts):
    run, true_rt = coelution_run(LIBRARY[pair[0]], LIBRARY[pair[1]], amounts)
    comps = gcms.extract_components(run)
    for name, rt in zip(pair, true_rt, strict=True):
        best = max(comps, key=lambda c: cosine((c.peaks.position, c.peaks.intensity),
                                               LIBRARY[name]))
        assert cosine((best.peaks.position, best.peaks.intensity), LIBRARY[name]) > 0.95
        assert abs(best.retention_time_s - rt) <= 1.0  # within two scans of the truth
    assert len(comps) == 2


# --- single spectra ---------------------------------------------------------------------

def test_spectrum_to_peaks_bins_ei_to_nominal_mass():
    spec = Spectrum([57.07, 57.2, 91.05, 100.66], [10.0, 5.0, 100.0, 20.0], unit="m/z",
                    technique="ms", centroided=True, metadata={"ionization": "EI"})
    peaks = gcms.spectrum_to_peaks(spec)
    np.testing.assert_array_equal(peaks.position, [57, 91, 101])
    np.testing.assert_allclose(peaks.intensity, [15 / 100 * 999, 999, 20 / 100 * 999])


def test_spectrum_to_peaks_centroids_profile_data():
    grid = np.arange(90.0, 92.0, 0.01)
    profile = 1e4 * np.exp(-0.5 * ((grid - 91.05) / 0.04) ** 2) + 1.0
    spec = Spectrum(grid, profile, unit="m/z", technique="ms", centroided=False,
                    metadata={"ionization": "EI"})
    peaks = gcms.spectrum_to_peaks(spec)
    assert 91.0 in peaks.position and peaks.intensity[peaks.position == 91.0][0] == 999.0


def test_spectrum_to_peaks_keeps_accurate_mass_for_msms():
    spec = Spectrum([105.0699, 188.1434, 336.9, 337.2067], [300.0, 999.0, 50.0, 800.0],
                    unit="m/z", technique="ms", centroided=True,
                    metadata={"ms_level": 2, "precursor_mz": 337.2067})
    peaks = gcms.spectrum_to_peaks(spec)
    np.testing.assert_allclose(peaks.position, [105.0699, 188.1434])
    assert peaks.provenance.steps[-1].params["method"] == "clean_msms"
