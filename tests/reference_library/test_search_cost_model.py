"""The NIST search's cost model: the threshold scan, and the switches to it, stay exact."""

from __future__ import annotations

import numpy as np
import pytest

from fentid.reference_library import search_nist
from fentid.reference_library.search import _NIST_MODES, SearchIndex, _rank, brute_force_search
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList
from tests.reference_library.test_search import (
    assert_same_hits,
    flat,
    perturbed,
    swgdrug_library,
)
from tests.spectra.test_scores import swgdrug_spectra


def full_scan(seg, qm, qc, mode, top):
    """Every entry scored with the compiled walk, ranked: the reference."""
    scores = seg.nist_many(qm, qc, np.arange(seg.n), mode)
    idx, sc = _rank(np.arange(seg.n), scores, top)
    return list(zip(idx.tolist(), sc.tolist()))


@pytest.mark.parametrize("algorithm", ["identity", "reverse", "similarity"])
def test_threshold_scan_equals_the_full_scan(algorithm, monkeypatch):
    """Small blocks, so the threshold rises many times within one scan."""
    monkeypatch.setattr(search_nist, "_SCAN_BLOCK", 97)
    mz, it, off, index = swgdrug_library()
    seg = index._segments[0]
    mode = _NIST_MODES[algorithm]
    rng = np.random.default_rng(8)
    for k in rng.choice(off.size - 1, 6, replace=False):
        q = perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], rng)
        qm, qc = sm.nist_preprocess(q.position, q.intensity)
        for top in (1, 10, 50):
            found = seg.threshold_scan(qm, qc, mode, top)
            idx, sc = _rank([f[0] for f in found], [f[1] for f in found], top)
            assert list(zip(idx.tolist(), sc.tolist())) == full_scan(seg, qm, qc, mode, top)


def test_unrelated_query_at_depth_50_takes_the_scan():
    """An unknown with no close relative: the 50th best factor is far below what any
    bound can prune (they never fall below ~500), so the search scans at once."""
    index = swgdrug_library()[3]
    q = PeakList(np.array([41.0, 55.0, 97.0, 139.0, 233.0, 251.0]),
                 np.array([100.0, 80.0, 999.0, 50.0, 20.0, 300.0]))
    hits = index.search(q, "identity", top=50)
    assert index.last_stats["paths"] == ("scan",)
    qm, qc = sm.nist_preprocess(q.position, q.intensity)
    assert [(h.entry_index, h.score) for h in hits] == full_scan(
        index._segments[0], qm, qc, _NIST_MODES["identity"], 50)


@pytest.mark.parametrize("algorithm", ["identity", "reverse", "similarity"])
def test_pruned_paths_forced_on_a_small_library_match_brute_force(algorithm, monkeypatch):
    """With the scan switches off, the pruned paths alone still give brute force's list
    (the small libraries of the other tests now take the scan)."""
    monkeypatch.setattr(search_nist, "_SCAN_MAX_ENTRIES", 0)
    monkeypatch.setattr(search_nist, "_SCAN_BELOW_TAU", -1.0)
    monkeypatch.setattr(search_nist, "_SCAN_SHARE", 2.0)
    spectra = swgdrug_spectra()
    names = [n for n, _, _ in spectra]
    rng = np.random.default_rng(23)
    library = []
    for name in ("Fentanyl", "meta-Fluorofentanyl", "Heroin", "3-Methylfentanyl"):
        _, m, i = spectra[names.index(name)]
        for _ in range(100):
            copy = perturbed(m, i, rng, drop=0.4, noise=0.3)
            library.append((copy.position, copy.intensity))
    mz, it, off = flat(library)
    index = SearchIndex.build(mz, it, off)
    _, m, i = spectra[names.index("Fentanyl")]
    for top in (5, 40):
        query = perturbed(m, i, rng, drop=0.4, noise=0.3)
        fast = index.search(query, algorithm, top=top)
        assert "scan" not in index.last_stats["paths"]
        slow = brute_force_search(query, mz, it, off, algorithm, top=top)
        assert_same_hits(fast, slow, algorithm)


def test_big_segments_scan_instead_of_the_postings_path(monkeypatch):
    """Above _POSTINGS_MAX_ENTRIES the postings path is replaced by the scan: same list."""
    mz, it, off, index = swgdrug_library()
    monkeypatch.setattr(search_nist, "_POSTINGS_MAX_ENTRIES", 1000)
    rng = np.random.default_rng(4)
    seg = index._segments[0]
    for k in rng.choice(off.size - 1, 3, replace=False):
        q = perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], rng)
        hits = index.search(q, "similarity", top=20)
        assert index.last_stats["paths"] == ("scan",)
        qm, qc = sm.nist_preprocess(q.position, q.intensity)
        assert [(h.entry_index, h.score) for h in hits] == full_scan(
            seg, qm, qc, _NIST_MODES["similarity"], 20)
