"""The compiled NIST kernels: bounds that stay bounds, and no dependence on a disk cache."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fentid.reference_library.search import _NIST_MODES
from tests.reference_library.test_search import _segment_and_query


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("heavy", [1, 2, 4, 10])
def test_maxscore_bound_with_library_weight_is_a_true_upper_bound(seed, heavy):
    """The tightened bound (library norm on the heavy masses known) never undercuts a factor."""
    seg, qm, qc = _segment_and_query(seed)
    weight = qm * qc.astype(float)
    order = np.argsort(-weight, kind="stable")
    u0 = float(weight[qc > 1].sum())
    u_s = float(weight[order[heavy:]].sum())
    dot, lib = seg._scatter_dot(qm, qc, order[:heavy], with_lib=True)
    cand, bound = seg.maxscore_bounds(qm, dot, u0, u_s, lib=lib)
    exact = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["identity"])
    assert np.all(exact[cand] <= bound)
    outside = np.setdiff1d(np.arange(seg.n), cand)
    assert np.all(exact[outside] <= np.trunc(1000 * (1 + u_s / u0) / 2 - 0.5 + 1e-6))
    # tighter than without the library weight, and a tau cut keeps exactly the reachers
    loose = seg.maxscore_bounds(qm, dot, u0, u_s)[1]
    assert np.all(bound <= loose) and np.mean(bound) < np.mean(loose)
    tau = float(np.median(bound))
    cut, _ = seg.maxscore_bounds(qm, dot, u0, u_s, lib=lib, tau=tau)
    assert np.array_equal(np.sort(cut), np.sort(cand[bound >= tau]))


def test_scores_with_at_least_zero_only_the_hopeless():
    seg, qm, qc = _segment_and_query(3)
    rows = np.arange(seg.n)
    exact = seg.nist_many(qm, qc, rows, _NIST_MODES["identity"])
    tau = float(np.sort(exact)[-20])
    cut = seg.nist_many(qm, qc, rows, _NIST_MODES["identity"], at_least=tau)
    assert np.array_equal(cut, np.where(exact >= tau, exact, 0.0))


RO_SCRIPT = """
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []  # no writable cache anywhere (read-only install)
import numpy as np
from fentid.spectra import nist_kernels as nk, scores_ms as sm
from fentid.spectra.model import PeakList
q = PeakList(np.array([41.0, 57.0, 91.0, 120.0]), np.array([10.0, 100.0, 50.0, 3.0]))
r = PeakList(np.array([41.0, 57.0, 92.0, 120.0]), np.array([12.0, 100.0, 40.0, 5.0]))
mu, iu = sm.nist_preprocess(q.position, q.intensity)
ml, il = sm.nist_preprocess(r.position, r.intensity)
many = sm.nist_factors_many(mu, iu, ml, il, np.array([0, ml.size]))[0]
print(type(nk.score_rows._cache).__name__, many == sm.identity_match_factor(q, r))
"""


def test_kernels_work_where_no_cache_can_be_written():
    out = subprocess.run([sys.executable, "-c", RO_SCRIPT], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split() == ["NullCache", "True"], out.stderr
