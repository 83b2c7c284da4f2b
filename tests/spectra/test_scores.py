"""MS scores: hand-checked NIST factors, weighted cosine, entropy parity with ms_entropy."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fentid.errors import SpectrumError
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList
from fentid.spectra.scores import (
    entropy_similarity,
    identity_match_factor,
    nist_factors_many,
    nist_preprocess,
    nominal_mass,
    reverse_match_factor,
    similarity_factor,
    weighted_cosine,
)
from tests.conftest import MS

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"


@functools.lru_cache(maxsize=1)
def swgdrug_spectra() -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """(name, m/z, intensity) of every SWGDRUG 3.9 record, read by the MSP driver."""
    from fentid.drivers import read

    dataset = read(SWGDRUG)
    return tuple((s.metadata.get("name"), s.axis.copy(), s.intensities.copy())
                 for s in dataset.items)


def pl(pairs) -> PeakList:
    pairs = np.asarray(pairs, float).reshape(-1, 2)
    return PeakList.from_unsorted(pairs[:, 0], pairs[:, 1])


# -- NIST match factors, worked by hand ---------------------------------------------
UNKNOWN = pl([(50, 999), (51, 400), (52, 100)])
LIBRARY = pl([(50, 999), (51, 100), (53, 300)])


def test_identity_hand_checked():
    # 50 both: dot += 50*999 = 49950; Nu += 49950; Nl += 49950; n1 = 1
    # 51 both: dot += 51*sqrt(400*100) = 10200; Nu += 20400; Nl += 5100; n1 = 2
    #          Ru/Rl = (sqrt(400)/sqrt(999)) / (sqrt(100)/sqrt(999)) = 2 -> r = 0.5;
    #          sum(m r) = 25.5, sum(m) = 51, n2 = 1
    # 52 unknown only (100 > 1): Nu += 5200 (breaks the chain)
    # 53 library only (300 > 1): Nl += 15900
    dot, nu, nl = 60150.0, 75550.0, 70950.0
    term1 = dot**2 / (nu * nl)  # 0.674970
    mf = 1000 * (2 * term1 + 1 * 0.5) / 3 - 0.5  # 616.147
    assert round(mf) == 616  # NIST rounds to the nearest integer
    assert identity_match_factor(UNKNOWN, LIBRARY) == 616


def test_reverse_hand_checked_ignores_unknown_only_peaks():
    # as above without the unknown-only peak at 52: Nu = 49950 + 20400 = 70350
    term1 = 60150.0**2 / (70350.0 * 70950.0)  # 0.724861
    assert round(1000 * (2 * term1 + 0.5) / 3 - 0.5) == 649
    assert reverse_match_factor(UNKNOWN, LIBRARY) == 649
    # an extra unknown-only peak changes the identity factor but not the reverse one
    more = pl([(50, 999), (51, 400), (52, 100), (90, 700)])
    assert reverse_match_factor(more, LIBRARY) == 649
    assert identity_match_factor(more, LIBRARY) < 616


def test_similarity_hand_checked():
    # w = sqrt(I): dot = 999 + sqrt(400*100) = 1199; Nu = 1499; Nl = 1399
    assert round(1199**2 / (1499 * 1399) * 1000 - 0.5) == 685
    assert similarity_factor(UNKNOWN, LIBRARY) == 685


def test_unknown_only_peak_breaks_the_ratio_chain_in_both_factors():
    unknown = pl([(60, 999), (61, 500), (62, 999)])
    library = pl([(60, 999), (62, 500)])
    dot = 60 * 999 + 62 * np.sqrt(999 * 500)
    # identity: the unknown-only 61 adds to the unknown's norm and breaks the chain,
    # n2 = 0 -> round(1000*term1 - 0.5)
    t_id = dot**2 / ((59940 + 30500 + 61938) * (59940 + 31000))
    assert identity_match_factor(unknown, library) == round(1000 * t_id - 0.5) == 776
    # reverse: 61 is left out of the norms but still breaks the chain (NIST MS Search 2.4;
    # the peer hit list in test_nist_peer.py pins it), so n2 = 0 here too
    t_rev = dot**2 / ((59940 + 61938) * (59940 + 31000))
    assert reverse_match_factor(unknown, library) == round(1000 * t_rev - 0.5) == 971
    # without the unknown-only peak the chain links 60 -> 62, r = sqrt(500/999)
    linked = pl([(60, 999), (62, 999)])
    raw = 1000 * (2 * t_rev + np.sqrt(500 / 999)) / 3 - 0.5  # 882.52: rounded, not truncated
    assert reverse_match_factor(linked, library) == round(raw) == 883


@pytest.mark.parametrize("mz, nominal", [(57.649, 57), (57.65, 58), (57.0, 57), (56.7, 57),
                                         (57.6, 57), (1000.649, 1000), (1000.65, 1001)])
def test_bin_boundary(mz, nominal):
    assert nominal_mass([mz])[0] == nominal


def test_preprocess_sums_bins_scales_and_drops_zeros():
    masses, counts = nist_preprocess([57.2, 57.649, 57.65, 90.0, 91.0], [10, 10, 40, 0.01, 0])
    # 57.2 and 57.649 share bin 57 (20), 57.65 is 58 (40 = base -> 999), 90 rounds to 0
    np.testing.assert_array_equal(masses, [57, 58])
    np.testing.assert_array_equal(counts, [500, 999])  # 20 * 999 / 40 = 499.5 -> 500


def test_self_is_999_disjoint_is_0_and_low_library_peaks_ignored():
    a = pl([(41, 120), (57, 999), (71, 300)])
    assert identity_match_factor(a, a) == reverse_match_factor(a, a) == 999
    assert similarity_factor(a, a) == 999
    assert identity_match_factor(a, pl([(100, 999), (120, 5)])) == 0
    # library peaks below the unknown's lowest m/z (41) take no part
    assert identity_match_factor(a, pl([(15, 999), (29, 999), (41, 120), (57, 999), (71, 300)])) == 999
    # intensity-1 peaks on one side only are ignored; a shared 1/1 peak too
    assert identity_match_factor(pl([(41, 120), (57, 999), (71, 300), (80, 1)]), a) == 999
    assert identity_match_factor(pl([(57, 999), (60, 1)]), pl([(57, 999), (60, 1)])) == 999


def test_empty_and_negative_inputs():
    assert identity_match_factor(PeakList([], []), pl([(50, 1)])) == 0
    with pytest.raises(SpectrumError, match="negative"):
        identity_match_factor(PeakList([50.0], [-1.0]), pl([(50, 1)]))


def test_swgdrug_replicate_scores_high_and_other_compound_low():
    spectra = {name: (m, i) for name, m, i in swgdrug_spectra()}
    fentanyl = pl(np.c_[spectra["Fentanyl"]])
    # an analytical replicate: intensities perturbed by 10 %, a few small peaks lost
    rng = np.random.default_rng(0)
    m, i = spectra["Fentanyl"]
    keep = (i > 20) | (rng.random(i.size) > 0.3)
    replicate = pl(np.c_[m[keep], i[keep] * rng.uniform(0.9, 1.1, keep.sum())])
    assert identity_match_factor(replicate, fentanyl) > 900
    assert identity_match_factor(pl(np.c_[spectra["Caffeine"]]), fentanyl) < 300


spectra_strategy = st.lists(
    # zero or a normal float: scaling a subnormal intensity rounds it to zero (a real change
    # of the spectrum, not a scoring bug)
    st.tuples(st.integers(30, 120),
              st.one_of(st.just(0.0), st.floats(1e-3, 1000.0, allow_nan=False))),
    min_size=1, max_size=25, unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None)
@given(spectra_strategy, st.lists(spectra_strategy, min_size=1, max_size=6))
def test_vectorised_form_equals_pair_walk(query, library):
    q = pl(query)
    refs = [pl(r) for r in library]
    mu, iu = nist_preprocess(q.position, q.intensity)
    pre = [nist_preprocess(r.position, r.intensity) for r in refs]
    off = np.concatenate(([0], np.cumsum([p[0].size for p in pre])))
    ml = np.concatenate([p[0] for p in pre])
    il = np.concatenate([p[1] for p in pre])
    for fn, mode in ((identity_match_factor, {}), (reverse_match_factor, {"reverse": True}),
                     (similarity_factor, {"mass_weighted": False, "ratio": False})):
        many = nist_factors_many(mu, iu, ml, il, off, **mode)
        pair = [fn(q, r) for r in refs]
        np.testing.assert_array_equal(many, pair)
        assert np.all((many >= 0) & (many <= 999)) and np.all(many == np.trunc(many))


@settings(max_examples=60, deadline=None)
@given(spectra_strategy, st.floats(0.01, 100.0))
def test_self_match_and_scale_invariance(peaks, scale):
    a = pl(peaks)
    if not np.any(a.intensity > 0):
        return
    assert identity_match_factor(a, a) == 999
    b = PeakList(a.position, a.intensity * scale)
    assert identity_match_factor(b, a) == identity_match_factor(a, a)


# -- weighted cosine ----------------------------------------------------------------
def test_cosine_hand_checked_and_tolerances():
    q = pl([(100, 4), (200, 1)])
    r = pl([(100, 1), (200, 4)])
    # sqrt preset: weights q = (2, 1), r = (1, 2): (2*1 + 1*2) / (sqrt5 * sqrt5) = 0.8
    assert weighted_cosine(q, r, preset="sqrt") == pytest.approx(0.8)
    shifted = pl([(100.3, 1), (200.3, 4)])
    assert weighted_cosine(q, shifted, tolerance_da=0.5) == pytest.approx(0.8)
    assert weighted_cosine(q, shifted, tolerance_da=0.2) == 0.0
    ppm = pl([(100.001, 1), (200.002, 4)])  # 10 ppm away
    assert weighted_cosine(q, ppm, tolerance_ppm=20) == pytest.approx(0.8)
    assert weighted_cosine(q, ppm, tolerance_ppm=5) == 0.0
    # NIST GC preset m^3 I^0.6: q = (1e6*4^0.6, 8e6), r = (1e6, 8e6*4^0.6)
    wq = np.array([100**3 * 4**0.6, 200**3 * 1.0])
    wr = np.array([100**3 * 1.0, 200**3 * 4**0.6])
    expected = wq @ wr / np.linalg.norm(wq) / np.linalg.norm(wr)
    assert weighted_cosine(q, r, preset="nist_gc") == pytest.approx(expected)


def test_cosine_greedy_versus_optimal():
    # weights = intensities (a=0, b=1); pairs within 0.45: a-x 1*5, a-y 1*4, b-x 0.8*5
    q = pl([(99.6, 0.8), (100.0, 1.0)])
    r = pl([(99.8, 5.0), (100.4, 4.0)])
    norm = np.sqrt(0.8**2 + 1) * np.sqrt(25 + 16)
    kw = {"preset": None, "mz_power": 0, "intensity_power": 1, "tolerance_da": 0.45}
    assert weighted_cosine(q, r, matching="greedy", **kw) == pytest.approx(5 / norm)
    assert weighted_cosine(q, r, matching="optimal", **kw) == pytest.approx(8 / norm)
    with pytest.raises(ValueError, match="preset"):
        weighted_cosine(q, r, preset="nist")


# -- entropy parity ----------------------------------------------------------------
def _ms_entropy(a: PeakList, b: PeakList, weighted, tol_da=0.02, tol_ppm=-1.0):
    import ms_entropy

    fn = (ms_entropy.calculate_entropy_similarity if weighted
          else ms_entropy.calculate_unweighted_entropy_similarity)
    return fn(np.c_[a.position, a.intensity].astype(np.float32),
              np.c_[b.position, b.intensity].astype(np.float32),
              ms2_tolerance_in_da=tol_da, ms2_tolerance_in_ppm=tol_ppm)


@pytest.mark.parametrize("weighted", [True, False])
def test_entropy_parity_on_real_swgdrug_pairs(weighted):
    spectra = swgdrug_spectra()
    rng = np.random.default_rng(7)
    picks = rng.choice(len(spectra), size=(60, 2))
    diffs = []
    for i, j in picks:
        a = pl(np.c_[spectra[i][1], spectra[i][2]])
        b = pl(np.c_[spectra[j][1], spectra[j][2]])
        for tol in (0.02, 0.5):
            diffs.append(abs(entropy_similarity(a, b, tolerance_da=tol, weighted=weighted)
                             - _ms_entropy(a, b, weighted, tol_da=tol)))
    assert max(diffs) < 1e-6


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_entropy_parity_random_accurate_mass(seed, weighted, use_ppm):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 40)
    mz = np.sort(rng.uniform(50, 500, n))
    a = PeakList(mz, rng.uniform(0, 100, n) ** 2)
    keep = rng.random(n) > 0.3
    b = PeakList.from_unsorted(mz[keep] + rng.normal(0, 0.005, keep.sum()),
                               a.intensity[keep] * rng.uniform(0.5, 1.5, keep.sum()))
    if use_ppm:
        ours = entropy_similarity(a, b, tolerance_da=None, tolerance_ppm=20, weighted=weighted)
        theirs = _ms_entropy(a, b, weighted, tol_da=-1, tol_ppm=20)
    else:
        ours = entropy_similarity(a, b, tolerance_da=0.02, weighted=weighted)
        theirs = _ms_entropy(a, b, weighted)
    assert abs(ours - theirs) < 1e-6


def test_entropy_hand_checked():
    # identical two-peak spectra (0.5, 0.5), unweighted: 2 * (1*log2(1) - 2*0.5*log2(0.5)) / 2 = 1
    a = pl([(100, 1), (200, 1)])
    assert entropy_similarity(a, a, weighted=False) == pytest.approx(1.0)
    # disjoint -> 0; one shared peak of (0.5, 0.5) -> (1 log2 1 - 2 * 0.5 log2 0.5) / 2 = 0.5
    assert entropy_similarity(a, pl([(300, 1)]), weighted=False) == 0.0
    assert entropy_similarity(a, pl([(100, 1), (300, 1)]), weighted=False) == pytest.approx(0.5)
    assert sm.spectral_entropy([1, 1]) == pytest.approx(np.log(2))
