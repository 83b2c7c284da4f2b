"""The inverted-index search returns exactly what brute force returns."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fentid.errors import LibraryError, SpectrumError
from fentid.reference_library.search import (
    _NIST_MODES,
    ALGORITHMS,
    SearchIndex,
    brute_force_search,
)
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList
from tests.spectra.test_scores import swgdrug_spectra

# float scores may differ in the last bits between summation orders
SCORE_TOL = {"cosine": 1e-9, "entropy": 1e-6}


def assert_same_hits(fast, slow, algorithm):
    """Equal top lists: same entries in the same order, same scores and MF/RMF.

    NIST factors are integers and must agree exactly; cosine and entropy within
    SCORE_TOL, where entries whose scores tie within it may swap.
    """
    tol = SCORE_TOL.get(algorithm, 0.0)
    assert len(fast) == len(slow), (fast, slow)
    for k, (f, s) in enumerate(zip(fast, slow)):
        assert abs(f.score - s.score) <= tol, (k, f, s)
        assert (f.mf, f.rmf) == (s.mf, s.rmf), (k, f, s)
        if f.entry_index != s.entry_index:
            assert tol > 0 and abs(f.score - s.score) <= tol, (k, f, s)
            assert any(abs(h.score - f.score) <= tol and h.entry_index == f.entry_index
                       for h in slow), (k, f, s)


def flat(spectra):
    mz = np.concatenate([m for m, _ in spectra]) if spectra else np.zeros(0)
    it = np.concatenate([i for _, i in spectra]) if spectra else np.zeros(0)
    off = np.concatenate(([0], np.cumsum([m.size for m, _ in spectra])))
    return mz, it, off


@functools.lru_cache(maxsize=1)
def swgdrug_library():
    spectra = [(m, i) for _, m, i in swgdrug_spectra()]
    mz, it, off = flat(spectra)
    return mz, it, off, SearchIndex.build(mz, it, off)


def perturbed(m, i, rng, drop=0.2, noise=0.15):
    """A realistic replicate: intensity noise, small peaks dropped or added."""
    keep = (i > 0.1 * i.max()) | (rng.random(i.size) > drop)
    m, i = m[keep], i[keep] * rng.uniform(1 - noise, 1 + noise, keep.sum())
    extra = rng.integers(0, 4)
    m = np.concatenate((m, rng.integers(40, int(m.max(initial=60)) + 5, extra).astype(float)))
    i = np.concatenate((i, rng.uniform(0.001, 0.02, extra) * i.max(initial=1.0)))
    return PeakList.from_unsorted(m, i)


REAL_QUERIES = ["Fentanyl", "Heroin", "meta-Fluorofentanyl"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_real_swgdrug_queries_match_brute_force(algorithm):
    mz, it, off, index = swgdrug_library()
    names = [n for n, _, _ in swgdrug_spectra()]
    rng = np.random.default_rng(11)
    queries = []
    for name in REAL_QUERIES:
        k = names.index(name)
        queries.append(perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], rng))
    # brute force is a Python loop over 3,430 entries: a few queries per algorithm
    for query in queries[:2] if algorithm in ("cosine", "entropy", "reverse") else queries[:3]:
        fast = index.search(query, algorithm, top=10)
        slow = brute_force_search(query, mz, it, off, algorithm, top=10)
        assert len(fast) == 10
        assert_same_hits(fast, slow, algorithm)


def test_replicate_finds_its_compound_and_pruning_scores_few_entries():
    mz, it, off, index = swgdrug_library()
    names = [n for n, _, _ in swgdrug_spectra()]
    k = names.index("Fentanyl")
    query = perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], np.random.default_rng(5))
    hits = index.search(query, "identity", top=5)
    assert names[hits[0].entry_index] == "Fentanyl"
    assert hits[0].score == hits[0].mf > 850
    stats = index.last_stats
    assert stats["evaluated"] < index.n_entries / 10
    assert stats["candidates"] < index.n_entries / 4


library_strategy = st.lists(
    st.lists(st.tuples(st.integers(30, 70), st.sampled_from([0.0, 0.05, 0.2, 1.0, 3.0, 50.0,
                                                           400.0, 999.0])),
             min_size=0, max_size=15, unique_by=lambda t: t[0]),
    min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(library_strategy, st.integers(0, 2**32 - 1), st.sampled_from(ALGORITHMS),
       st.integers(1, 8), st.booleans())
def test_random_libraries_match_brute_force(library, seed, algorithm, top, fractional):
    """Small integer-heavy libraries (ties, intensity-1 peaks, empty entries) and queries."""
    rng = np.random.default_rng(seed)
    spectra = []
    for peaks in library:
        arr = np.array(peaks, float).reshape(-1, 2)
        m = arr[:, 0] + (rng.uniform(-0.3, 0.3, len(arr)) if fractional else 0)
        spectra.append((m, arr[:, 1]))
    mz, it, off = flat(spectra)
    index = SearchIndex.build(mz, it, off)
    k = rng.integers(len(spectra))
    if spectra[k][0].size and rng.random() < 0.7:
        query = perturbed(spectra[k][0], spectra[k][1], rng)
    else:
        n = rng.integers(1, 12)
        query = PeakList.from_unsorted(rng.uniform(30, 70, n).round(1), rng.uniform(0, 999, n))
    fast = index.search(query, algorithm, top=top)
    slow = brute_force_search(query, mz, it, off, algorithm, top=top)
    assert_same_hits(fast, slow, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_accurate_mass_tolerances_match_brute_force(algorithm):
    rng = np.random.default_rng(21)
    spectra = []
    for _ in range(200):
        n = rng.integers(1, 30)
        spectra.append((np.sort(rng.uniform(50, 600, n)), rng.uniform(0, 100, n) ** 2))
    mz, it, off = flat(spectra)
    index = SearchIndex.build(mz, it, off)
    params = {"cosine": [{"tolerance_da": 0.01, "preset": "massbank"},
                         {"tolerance_ppm": 10, "preset": "nist_gc"},
                         {"tolerance_da": 3.0, "matching": "optimal"}],  # peaks closer: fallback
              "entropy": [{"tolerance_da": 0.02}, {"tolerance_da": None, "tolerance_ppm": 15},
                          {"tolerance_da": 0.5, "weighted": False}]}.get(algorithm, [{}])
    for kw in params:
        for k in rng.choice(len(spectra), 5):
            m, i = spectra[k]
            query = PeakList.from_unsorted(m + rng.normal(0, 0.0002, m.size), i)
            fast = index.search(query, algorithm, top=5, **kw)
            slow = brute_force_search(query, mz, it, off, algorithm, top=5, **kw)
            assert_same_hits(fast, slow, algorithm)
            assert fast[0].entry_index == k


def test_add_segments_equal_one_index_and_round_trip():
    mz, it, off, _ = swgdrug_library()
    cut = 1700
    first = SearchIndex.build(mz[:off[cut]], it[:off[cut]], off[:cut + 1])
    both = first.add(mz[off[cut]:], it[off[cut]:], off[cut:] - off[cut])
    assert both.n_entries == off.size - 1
    restored = SearchIndex.from_arrays(both.to_arrays())
    rng = np.random.default_rng(3)
    for k in (5, cut - 1, cut, 3000):
        query = perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], rng)
        for algorithm in ("identity", "reverse", "entropy"):
            a = both.search(query, algorithm, top=10)
            b = restored.search(query, algorithm, top=10)
            c = swgdrug_library()[3].search(query, algorithm, top=10)
            assert_same_hits(a, c, algorithm)
            assert_same_hits(b, c, algorithm)


def test_bad_library_arrays_and_queries_raise():
    with pytest.raises(LibraryError, match="offsets"):
        SearchIndex.build([50.0, 51.0], [1.0, 2.0], [0, 3])
    with pytest.raises(LibraryError, match="negative"):
        SearchIndex.build([50.0], [-1.0], [0, 1])
    with pytest.raises(LibraryError, match="finite"):
        SearchIndex.build([np.nan], [1.0], [0, 1])
    index = SearchIndex.build([50.0, 51.0], [1.0, 2.0], [0, 2])
    arrays = index.to_arrays()
    with pytest.raises(LibraryError, match="missing"):
        SearchIndex.from_arrays({k: v for k, v in arrays.items() if k != "posting_entry"})
    with pytest.raises(LibraryError, match="format"):
        SearchIndex.from_arrays({**arrays, "index_format": np.array([99])})
    with pytest.raises(LibraryError, match="disagree"):
        SearchIndex.from_arrays({**arrays, "norm_mass": np.zeros(5)})
    nmr = PeakList([1.0], [1.0], unit="ppm", technique="nmr", nucleus="1H")
    with pytest.raises(SpectrumError, match="MS"):
        index.search(nmr)
    with pytest.raises(ValueError, match="algorithm"):
        index.search(PeakList([50.0], [1.0]), "dot")
    with pytest.raises(ValueError, match="top"):
        index.search(PeakList([50.0], [1.0]), top=0)
    with pytest.raises(TypeError, match="tolerance"):
        index.search(PeakList([50.0], [1.0]), "identity", tolerance_da=0.1)
    assert index.search(PeakList([], []), "identity") == []
    assert index.search(PeakList([99.0], [5.0]), "entropy") == []


@pytest.mark.parametrize("algorithm", ["identity", "reverse", "similarity"])
def test_near_duplicate_library_where_pruning_decides(algorithm):
    """Hundreds of replicates of a few analogs: many entries sit near the top-N
    threshold, so a bound that is not a true bound would drop a true hit here."""
    spectra = swgdrug_spectra()
    names = [n for n, _, _ in spectra]
    rng = np.random.default_rng(17)
    library = []
    for name in ("Fentanyl", "meta-Fluorofentanyl", "p-Fluorofentanyl", "3-Methylfentanyl"):
        _, m, i = spectra[names.index(name)]
        for _ in range(150):
            copy = perturbed(m, i, rng, drop=0.4, noise=0.3)
            library.append((copy.position, copy.intensity))
    mz, it, off = flat(library)
    index = SearchIndex.build(mz, it, off)
    _, m, i = spectra[names.index("Fentanyl")]
    for top in (10, 40):
        query = perturbed(m, i, rng, drop=0.4, noise=0.3)
        fast = index.search(query, algorithm, top=top)
        slow = brute_force_search(query, mz, it, off, algorithm, top=top)
        assert_same_hits(fast, slow, algorithm)


def _segment_and_query(seed, copies=60):
    spectra = swgdrug_spectra()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(spectra), 8, replace=False)
    library = []
    for k in picks:
        _, m, i = spectra[k]
        library += [(c.position, c.intensity) for c in
                    (perturbed(m, i, rng, drop=0.4, noise=0.3) for _ in range(copies))]
    mz, it, off = flat(library)
    seg = SearchIndex.build(mz, it, off)._segments[0]
    _, m, i = spectra[picks[0]]
    q = perturbed(m, i, rng, drop=0.4, noise=0.3)
    qm, qc = sm.nist_preprocess(q.position, q.intensity)
    return seg, qm, qc


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("algorithm", ["identity", "reverse", "similarity"])
def test_term1_bound_is_a_true_upper_bound(seed, algorithm):
    seg, qm, qc = _segment_and_query(seed)
    mode = _NIST_MODES[algorithm]
    cand, bound = seg.term1_bounds(qm, qc, mode)
    exact = seg.nist_many(qm, qc, np.arange(seg.n), mode)
    assert np.all(exact[cand] <= bound)
    others = np.setdiff1d(np.arange(seg.n), cand)
    assert np.all(exact[others] == 0)  # no shared peak, no score
    assert np.mean(bound) < 999  # and it is informative


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("heavy", [1, 3, 10])
def test_maxscore_bound_is_a_true_upper_bound(seed, heavy):
    seg, qm, qc = _segment_and_query(seed)
    weight = qm * qc.astype(float)
    order = np.argsort(-weight, kind="stable")
    u0 = float(weight[qc > 1].sum())
    u_s = float(weight[order[heavy:]].sum())
    dot = seg._scatter_dot(qm, qc, order[:heavy])
    cand, bound = seg.maxscore_bounds(qm, dot, u0, u_s)
    exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["identity"])
    assert np.all(exact[cand] <= bound)
    outside = np.setdiff1d(np.arange(seg.n), cand)
    assert np.all(exact[outside] <= np.trunc(1000 * (1 + u_s / u0) / 2 - 0.5 + 1e-6))


def test_entropy_pair_gain_is_at_most_twice_the_geometric_mean():
    """The lemma behind the entropy pruning: g(x, y) = (x+y)*H2(x/(x+y)) <= 2*sqrt(x*y),
    checked in float32 (as the view computes g) over intensities 1e-7..1."""
    v = np.geomspace(1e-7, 1.0, 300).astype(np.float32)
    x, y = np.meshgrid(v, v)
    xy = x + y
    gain = xy * np.log2(xy) - x * np.log2(x) - y * np.log2(y)
    assert np.all(gain <= 2 * np.sqrt(x.astype(float) * y) + 1e-6)
    assert gain.max() > 0.99  # x = y = 0.5 -> 1: the bound is tight there


@pytest.mark.parametrize("seed", range(4))
def test_entropy_bounds_are_true_upper_bounds(seed):
    from fentid.reference_library import search_mz

    seg, _, _ = _segment_and_query(seed)
    spectra = swgdrug_spectra()
    rng = np.random.default_rng(seed)
    _, m, i = spectra[rng.integers(len(spectra))]
    q = perturbed(m, i, rng, drop=0.4, noise=0.3)
    seg.entropy_scores(q, 0.02, -1.0, True, 0.01)  # builds the view
    view = seg._cache[("entropy", 0.02, -1.0, True, 0.01)]
    mq, iq = sm.clean_for_entropy(q.position, q.intensity, tolerance_da=0.02)
    x = sm.entropy_weight(iq).astype(np.float32)
    lo = np.searchsorted(view["sorted_mz"], (mq - 0.02).astype(np.float32), side="left")
    hi = np.searchsorted(view["sorted_mz"], (mq + 0.02).astype(np.float32), side="right")
    peaks = np.flatnonzero(hi > lo)
    _, reached, bound, unreached, light = search_mz.entropy_bounds(seg.n, view, x, lo, hi,
                                                                   peaks)
    cand, exact = seg.entropy_scores(q, 0.02, -1.0, True, 0.01)  # every matched entry
    score = np.zeros(seg.n)
    score[cand] = exact
    assert np.all(score[reached] <= bound)
    outside = np.setdiff1d(np.arange(seg.n), reached)
    assert np.all(score[outside] <= unreached)
    assert light.size > 0 and unreached < 1  # light peaks exist: the bound is informative


def test_entropy_pruned_search_matches_brute_force(monkeypatch):
    """The pruned path (normally only for big libraries) forced on: same top lists."""
    from fentid.reference_library import search_mz

    monkeypatch.setattr(search_mz, "PRUNE_MIN_PAIRS", 0)
    used = []
    real = search_mz._entropy_pruned

    def spy(*args):
        out = real(*args)
        used.append(out is not None)
        return out

    monkeypatch.setattr(search_mz, "_entropy_pruned", spy)
    spectra = swgdrug_spectra()
    names = [n for n, _, _ in spectra]
    rng = np.random.default_rng(23)
    library = []
    for name in ("Fentanyl", "meta-Fluorofentanyl", "3-Methylfentanyl", "Heroin"):
        _, m, i = spectra[names.index(name)]
        library += [(c.position, c.intensity)
                    for c in (perturbed(m, i, rng, drop=0.4, noise=0.3) for _ in range(40))]
    mz, it, off = flat(library)
    index = SearchIndex.build(mz, it, off)
    for name in ("Fentanyl", "Heroin"):
        _, m, i = spectra[names.index(name)]
        query = perturbed(m, i, rng, drop=0.4, noise=0.3)
        for top in (1, 10, 45):
            fast = index.search(query, "entropy", top=top)
            slow = brute_force_search(query, mz, it, off, "entropy", top=top)
            assert_same_hits(fast, slow, "entropy")
    assert any(used)


# -- ball pruning (identity) ------------------------------------------------------------
def _ball_bounds(seg, qm, qc, tau=0.0):
    """Member and ball-level bounds of every entry for one unknown (members kept
    where their bound reaches ``tau``)."""
    from fentid.reference_library.search_ball import BallQuery
    from fentid.reference_library.search_nist import NORM_CUTS

    cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
    balls = seg.balls()
    query = BallQuery(balls, np.asarray(qm, np.int64), np.asarray(qc, np.int64), cut,
                      seg.a["norm_from_cut"][cut])
    n_balls = balls["ball_offsets"].size - 1
    cand, bound = query.members(np.arange(n_balls), tau)
    member_bound = np.zeros(seg.n)
    member_bound[cand] = bound
    ball_of = np.repeat(np.arange(n_balls), np.diff(balls["ball_offsets"]))
    ball_bound = np.zeros(seg.n)
    ball_bound[balls["ball_members"]] = query.ball_bound[ball_of]
    return member_bound, ball_bound


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("low_cut", [0, 45, 80])
def test_ball_bounds_are_true_upper_bounds(seed, low_cut):
    """Per-member and per-ball bounds never fall below the exact identity factor,
    also when the unknown starts above the library's low masses (truncated norms)
    and carries count-1 peaks; and they are informative."""
    seg, qm, qc = _segment_and_query(seed)
    keep = qm >= low_cut
    qm, qc = qm[keep], qc[keep]
    member_bound, ball_bound = _ball_bounds(seg, qm, qc)
    exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["identity"])
    assert np.all(exact <= member_bound)
    assert np.all(exact <= ball_bound)
    assert np.mean(member_bound) < 900
    # with a threshold the member walk stops early: every entry reaching it is kept
    tau = _tenth_best(exact)
    kept = _ball_bounds(seg, qm, qc, tau)[0] > 0
    assert np.all(kept[exact >= tau])


def _reverse_bounds(seg, qm, qc, tau=0.0):
    from fentid.reference_library.search_ball import BallQuery
    from fentid.reference_library.search_nist import NORM_CUTS

    cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
    query = BallQuery(seg.balls(), np.asarray(qm, np.int64), np.asarray(qc, np.int64), cut,
                      seg.a["norm_from_cut"][cut])
    cand, bound = query.reverse_members(tau)
    out = np.zeros(seg.n)
    out[cand] = bound
    return out


def _tenth_best(scores):
    return float(np.sort(scores)[::-1][9])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("low_cut", [0, 45, 80])
def test_reverse_walk_bounds_are_true_upper_bounds(seed, low_cut):
    """The reverse factor's per-entry bound (unknown restricted to the entry's masses,
    count-1 peaks of the unknown counted only against library counts > 1)."""
    seg, qm, qc = _segment_and_query(seed)
    keep = qm >= low_cut
    qm, qc = qm[keep], qc[keep].copy()
    # count-1 unknown peaks follow their own rule: make sure some are there
    small = np.flatnonzero(qc < 999)[::3]
    qc[small] = 1
    bound = _reverse_bounds(seg, qm, qc)
    exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["reverse"])
    assert np.all(exact <= bound)
    assert np.mean(bound) < 950
    # with a threshold the walk stops early: every entry reaching it is still kept
    tau = _tenth_best(exact)
    kept = _reverse_bounds(seg, qm, qc, tau) > 0
    assert np.all(kept[exact >= tau])
    assert np.count_nonzero(kept) < seg.n / 2


def test_ball_bounds_on_every_swgdrug_spectrum_as_library():
    """The real library (3,430 spectra of every shape, balls by their heaviest masses):
    bounds hold for real queries, replicates included."""
    index = swgdrug_library()[3]
    seg = index._segments[0]
    spectra = swgdrug_spectra()
    rng = np.random.default_rng(5)
    for k in rng.choice(len(spectra), 12, replace=False):
        _, m, i = spectra[k]
        q = perturbed(m, i, rng)
        qm, qc = sm.nist_preprocess(q.position, q.intensity)
        member_bound, ball_bound = _ball_bounds(seg, qm, qc)
        exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["identity"])
        assert np.all(exact <= np.minimum(member_bound, ball_bound))
        exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["reverse"])
        assert np.all(exact <= _reverse_bounds(seg, qm, qc))


def _replicate_library(n_compounds=40, copies=60, seed=3):
    """Many replicates of real spectra: the top-N threshold is high, as in large libraries."""
    spectra = swgdrug_spectra()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(spectra), n_compounds, replace=False)
    library = [(c.position, c.intensity) for k in picks
               for c in (perturbed(spectra[k][1], spectra[k][2], rng, drop=0.2, noise=0.1)
                         for _ in range(copies))]
    return spectra, picks, rng, flat(library)


@pytest.mark.parametrize("algorithm", ["identity", "reverse"])
def test_ball_path_is_taken_and_matches_brute_force(algorithm):
    spectra, picks, rng, (mz, it, off) = _replicate_library()
    index = SearchIndex.build(mz, it, off)
    paths = []
    for k in picks[:12]:
        query = perturbed(spectra[k][1], spectra[k][2], rng, drop=0.2, noise=0.1)
        for top in (1, 10, 50):
            fast = index.search(query, algorithm, top=top)
            paths.append(index.last_stats["paths"][0])
            assert_same_hits(fast, brute_force_search(query, mz, it, off, algorithm, top),
                             algorithm)
            assert index.last_stats["evaluated"] < 0.5 * index.n_entries
    assert paths.count("balls") >= 0.75 * len(paths), paths


def test_ball_arrays_round_trip_and_old_indexes_build_them_on_use():
    from fentid.reference_library.search_ball import BALL_KEYS

    spectra, picks, rng, (mz, it, off) = _replicate_library(n_compounds=10, copies=30)
    index = SearchIndex.build(mz, it, off)
    stored = index.to_arrays()
    assert set(BALL_KEYS) <= set(stored)
    old = {k: v for k, v in stored.items() if k not in BALL_KEYS}  # written before balls
    queries = [perturbed(spectra[k][1], spectra[k][2], rng) for k in picks[:4]]
    for restored in (SearchIndex.from_arrays(stored), SearchIndex.from_arrays(old)):
        for q in queries:
            assert_same_hits(restored.search(q, "identity"), index.search(q, "identity"),
                             "identity")
    broken = dict(stored, ball_rho=stored["ball_rho"][:-1])
    with pytest.raises(LibraryError, match="disagree"):
        SearchIndex.from_arrays(broken)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(2.0 ** -10, 4096.0, width=32), min_size=0, max_size=300),
       st.integers(0, 5))
def test_radix_argsort_of_positive_floats_equals_numpy_stable(values, repeats):
    from fentid.reference_library.search_mz import argsort_positive32

    x = np.tile(np.array(values, np.float32), repeats + 1)  # ties keep their order
    assert np.array_equal(argsort_positive32(x), np.argsort(x, kind="stable"))


def test_stored_entropy_view_is_used_and_equals_a_fresh_build(monkeypatch):
    """MS/MS indexes keep the default entropy view: a restored index searches without
    rebuilding it, with the same hits; other parameters still build their own view."""
    from fentid.reference_library import search_mz
    from fentid.reference_library.search_mz import ENTROPY_KEYS

    spectra, picks, rng, (mz, it, off) = _replicate_library(n_compounds=10, copies=20)
    plain = SearchIndex.build(mz, it, off)
    assert not set(ENTROPY_KEYS) & set(plain.to_arrays())
    stored = SearchIndex.build(mz, it, off, entropy=True).to_arrays()
    assert set(ENTROPY_KEYS) <= set(stored)
    restored = SearchIndex.from_arrays(stored)
    queries = [perturbed(spectra[k][1], spectra[k][2], rng) for k in picks[:4]]
    expected = [plain.search(q, "entropy") for q in queries]

    def no_build(*args, **kwargs):
        raise AssertionError("the stored entropy view was rebuilt")

    monkeypatch.setattr(search_mz, "entropy_view", no_build)
    for q, hits in zip(queries, expected):
        assert_same_hits(restored.search(q, "entropy"), hits, "entropy")
    with pytest.raises(AssertionError, match="rebuilt"):
        restored.search(queries[0], "entropy", tolerance_da=0.05)
    broken = dict(stored, entropy_sorted_flog=stored["entropy_sorted_flog"][:-1])
    with pytest.raises(LibraryError, match="disagree"):
        SearchIndex.from_arrays(broken)
