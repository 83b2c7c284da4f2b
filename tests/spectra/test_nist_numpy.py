"""The numpy full scan equals the compiled kernel bit for bit, on the real SWGDRUG library."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fentid.drivers import read
from fentid.spectra import scores_ms as sm
from fentid.spectra.nist_numpy import nist_factors_all
from tests.conftest import MS

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"
MODES = {"identity": (False, True, True), "reverse": (True, True, True),
         "similarity": (False, False, False)}


@functools.lru_cache(maxsize=1)
def library():
    pre = [sm.nist_preprocess(s.axis, s.intensities) for s in read(SWGDRUG).items]
    loff = np.concatenate(([0], np.cumsum([m.size for m, _ in pre]))).astype(np.int64)
    return pre, np.concatenate([m for m, _ in pre]), np.concatenate([c for _, c in pre]), loff


def _queries():
    pre, *_ = library()
    rng = np.random.default_rng(7)
    picks = rng.choice(len(pre), 25, replace=False)
    out = []
    for k in picks:
        m, c = pre[k]
        out.append((m, c))
        # a perturbed replicate: noise, a dropped and an added small peak, a raised low cut
        noisy = np.clip(np.round(c * rng.uniform(0.7, 1.3, c.size)), 1, 999).astype(np.int64)
        keep = rng.random(m.size) > 0.1
        m2 = np.r_[m[keep], m.max() + 3]
        c2 = np.r_[noisy[keep], 5]
        order = np.argsort(m2)
        m2, c2 = sm.nist_preprocess(m2[order], c2[order])
        out.append((m2[m2 >= m2[0] + 10], c2[m2 >= m2[0] + 10]))
    return out


@pytest.mark.parametrize("mode", sorted(MODES))
def test_numpy_full_scan_equals_the_kernel(mode):
    _, lm, lc, loff = library()
    reverse, weighted, ratio = MODES[mode]
    for qm, qc in _queries():
        if qm.size == 0:
            continue
        ours = nist_factors_all(qm, qc, lm, lc, loff, reverse=reverse, mass_weighted=weighted,
                                ratio=ratio)
        kernel = sm.nist_factors_many(qm, qc, lm, lc, loff, reverse=reverse,
                                      mass_weighted=weighted, ratio=ratio)
        np.testing.assert_array_equal(ours, kernel)
        assert ours.max() > 0


def test_nominal_view_equals_nist_preprocess_per_entry():
    from fentid.spectra.nist_numpy import nominal_view

    spectra = read(SWGDRUG).items
    mz = np.concatenate([s.axis for s in spectra])
    inten = np.concatenate([s.intensities for s in spectra])
    off = np.concatenate(([0], np.cumsum([len(s) for s in spectra])))
    m, c, noff = nominal_view(mz, inten, off)
    for k, s in enumerate(spectra):
        em, ec = sm.nist_preprocess(s.axis, s.intensities)
        np.testing.assert_array_equal(m[noff[k]:noff[k + 1]], em)
        np.testing.assert_array_equal(c[noff[k]:noff[k + 1]], ec)
