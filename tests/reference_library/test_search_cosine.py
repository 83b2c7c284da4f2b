"""Cosine search: exact per-pair decision between the scatter-add and the pair function."""

from __future__ import annotations

import numpy as np
import pytest

from fentid.reference_library import search_mz
from fentid.reference_library.search import SearchIndex, brute_force_search
from fentid.spectra.model import PeakList
from tests.reference_library.test_search import (
    assert_same_hits,
    flat,
    perturbed,
    swgdrug_library,
)
from tests.spectra.test_scores import swgdrug_spectra


def test_nominal_library_at_half_dalton_needs_no_pair_scoring(monkeypatch):
    """Integer peaks are 1 Da apart: a 0.5 Da window never holds two of one entry, so the
    scatter-add is exact and the pair function is never called (it was for every
    candidate before, because the gap test demanded gaps above 2 * 0.5 Da)."""
    mz, it, off, index = swgdrug_library()
    names = [n for n, _, _ in swgdrug_spectra()]
    rng = np.random.default_rng(5)
    k = names.index("Fentanyl")
    noisy = perturbed(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]], rng)
    # one peak per m/z (an added peak may land on an existing mass: two query peaks
    # would then share their library partners, which rightly takes the pair function)
    _, first = np.unique(noisy.position, return_index=True)
    query = PeakList(noisy.position[first], noisy.intensity[first])
    expected = brute_force_search(query, mz, it, off, "cosine", top=10)

    def refuse(*args, **kwargs):
        raise AssertionError("pair scoring used on a nominal library at 0.5 Da")

    monkeypatch.setattr(search_mz.sm, "weighted_cosine", refuse)
    got = index.search(query, "cosine", top=10)
    assert_same_hits(got, expected, "cosine")
    assert got[0].entry_index in np.flatnonzero(
        [n == "Fentanyl" for n, _, _ in swgdrug_spectra()])


@pytest.mark.parametrize("matching", ["greedy", "optimal"])
@pytest.mark.parametrize("tol", [0.5, 0.3])
def test_clashing_windows_are_scored_with_the_pair_function(matching, tol):
    """Half-integer peaks (a window holds two peaks of one entry) and a query whose
    windows share a library peak: those entries take the pair function, the others the
    scatter-add; the top list equals brute force either way."""
    rng = np.random.default_rng(3)
    spectra = []
    for e in range(300):
        m = np.sort(rng.choice(np.arange(40, 200), 20, replace=False)).astype(float)
        if e % 3 == 0:  # a peak 0.5 Da above another: both in a window at tol >= 0.25
            m = np.sort(np.concatenate((m, m[:3] + 0.5)))
        spectra.append((m, rng.uniform(1, 100, m.size)))
    mz, it, off = flat(spectra)
    index = SearchIndex.build(mz, it, off)
    for k in (0, 1, 2, 3):
        m, i = spectra[k]
        q = PeakList.from_unsorted(np.concatenate((m, [m[5] + 0.5])),
                                   np.concatenate((i, [7.0])))
        fast = index.search(q, "cosine", top=8, tolerance_da=tol, matching=matching)
        slow = brute_force_search(q, mz, it, off, "cosine", top=8, tolerance_da=tol,
                                  matching=matching)
        assert_same_hits(fast, slow, "cosine")
        assert fast[0].entry_index == k


def test_sorted_view_next_peak_is_the_successor_in_the_entry():
    mz = np.array([10.0, 12.0, 30.0, 11.0, 12.0, 5.0])
    it = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 3.0])
    off = np.array([0, 3, 5, 6])
    view = search_mz.sorted_mz_view(mz, it, off)
    # positive peaks: entry 0 (10, 30), entry 1 (11, 12), entry 2 (5); sorted by m/z
    assert view["sorted_mz"].tolist() == [5.0, 10.0, 11.0, 12.0, 30.0]
    assert view["sorted_next"].tolist() == [np.inf, 30.0, 12.0, np.inf, np.inf]
