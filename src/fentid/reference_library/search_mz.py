"""Accurate-mass search over peaks sorted by m/z: weighted cosine and entropy.

Part of :mod:`fentid.reference_library.search` (split for size).  Each query
peak looks only at the library peaks inside its tolerance window (binary search
in one m/z-sorted array, ms_entropy's Flash idea); per-pair terms are summed per
entry with one scatter-add.  When every spectrum's peaks are more than twice the
tolerance apart each query peak has at most one partner per entry, so the sum
is the exact score; the entropy view is cleaned like ms_entropy to guarantee
it, and cosine falls back to exact pair scoring otherwise.
"""

from __future__ import annotations

import numpy as np

from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList


def entry_ids(offsets) -> np.ndarray:
    return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))


def ranges(starts, ends):
    """Concatenated ``arange(s, e)`` for many (s, e) pairs, vectorised."""
    lengths = ends - starts
    base = np.concatenate(([0], np.cumsum(lengths)))
    return np.arange(base[-1]) + np.repeat(starts - base[:-1], lengths)


def window_pairs(view, mq, tol_da, tol_ppm):
    """(query peak, sorted-view position) pairs within tolerance."""
    smz = view["sorted_mz"]
    mq = mq.astype(smz.dtype)  # same dtype as the view: no conversion of the library
    half = (mq * tol_ppm * 1e-6 if tol_ppm > 0 else np.full(mq.size, tol_da)).astype(smz.dtype)
    lo = np.searchsorted(smz, mq - half, side="left")
    hi = np.searchsorted(smz, mq + half, side="right")
    j = ranges(lo, hi)
    i = np.repeat(np.arange(mq.size), hi - lo)
    return i, j

def cosine_scores(seg, query: PeakList, a_pow, b_pow, tol_da, tol_ppm, matching):
    """Weighted-cosine scores of the entries sharing a peak with ``query``."""
    view = seg.sorted_view()
    key = ("cosnorm", a_pow, b_pow)
    if key not in seg._cache:
        w = view["sorted_mz"] ** a_pow * view["sorted_intensity"] ** b_pow
        seg._cache[key] = np.sqrt(np.bincount(view["sorted_entry"], weights=w * w,
                                               minlength=seg.n))
    norms = seg._cache[key]
    mq, iq = sm._positive(query)
    if mq.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    wq = mq**a_pow * iq**b_pow
    i, j = window_pairs(view, mq, tol_da, tol_ppm)
    ent = view["sorted_entry"][j]
    unique = (_min_gaps(mq)[0 if tol_ppm <= 0 else 1] > _gap_needed(tol_da, tol_ppm)
              and float(view["min_gap"][0 if tol_ppm <= 0 else 1])
              > _gap_needed(tol_da, tol_ppm))
    cand = np.unique(ent)
    if unique:
        wl = view["sorted_mz"][j] ** a_pow * view["sorted_intensity"][j] ** b_pow
        total = np.bincount(ent, weights=wq[i] * wl, minlength=seg.n)[cand]
        scores = np.minimum(1.0, total / (np.sqrt(np.sum(wq * wq)) * norms[cand]))
        return cand, scores
    mz, inten, off = seg.a["mz"], seg.a["intensity"], seg.a["offsets"]
    scores = np.array([sm.weighted_cosine(
        query, PeakList(mz[off[e]:off[e + 1]], inten[off[e]:off[e + 1]]),
        mz_power=a_pow, intensity_power=b_pow, preset=None, tolerance_da=tol_da,
        tolerance_ppm=tol_ppm if tol_ppm > 0 else None, matching=matching) for e in cand])
    return cand, scores


def entropy_scores(seg, query: PeakList, tol_da, tol_ppm, weighted, noise):
    """Entropy similarity of the entries sharing a peak with ``query`` (Flash-style)."""
    key = ("entropy", tol_da, tol_ppm, weighted, noise)
    if key not in seg._cache:
        seg._cache[key] = entropy_view(seg.a, tol_da, tol_ppm, weighted, noise)
    view = seg._cache[key]
    mq, iq = sm.clean_for_entropy(query.position, query.intensity,
                                  tolerance_da=tol_da if tol_da > 0 else None,
                                  tolerance_ppm=tol_ppm if tol_ppm > 0 else None,
                                  noise_threshold=noise)
    if weighted:
        iq = sm.entropy_weight(iq)
    if mq.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    smz = view["sorted_mz"]
    half = (mq * tol_ppm * 1e-6 if tol_ppm > 0 else np.full(mq.size, tol_da)).astype(smz.dtype)
    lo = np.searchsorted(smz, mq - half, side="left")
    hi = np.searchsorted(smz, mq + half, side="right")
    # f(x+y) - f(x) - f(y), f(v) = v log2 v, f(y) stored in the view: one log per pair;
    # contiguous slices per query peak, no gathers
    # float32 terms (as ms_entropy computes them); the sum is float64
    x = iq.astype(np.float32)
    fx = x * np.log2(x)
    ents, gains = [], []
    for k in np.flatnonzero(hi > lo):
        y = view["sorted_intensity"][lo[k]:hi[k]]
        xy = y + x[k]
        gains.append(xy * np.log2(xy) - fx[k] - view["sorted_flog"][lo[k]:hi[k]])
        ents.append(view["sorted_entry"][lo[k]:hi[k]])
    if not ents:
        return np.zeros(0, np.int64), np.zeros(0)
    total = np.bincount(np.concatenate(ents), weights=np.concatenate(gains),
                        minlength=seg.n)
    cand = np.flatnonzero(total > 0)  # matched peaks always gain > 0
    return cand, total[cand] / 2


def _gap_needed(tol_da, tol_ppm) -> float:
    # Da: gaps above 2*tol; ppm: relative gaps above 2*tol (1 % margin for the 1/(1-x) edge)
    return 2 * tol_da if tol_ppm <= 0 else 2.02 * tol_ppm * 1e-6


def _min_gaps(mz) -> tuple[float, float]:
    if mz.size < 2:
        return np.inf, np.inf
    d = np.diff(mz)
    return float(d.min()), float(np.min(d / mz[1:]))


def sorted_mz_view(mz, intensity, offsets) -> dict[str, np.ndarray]:
    """Positive peaks sorted by m/z across the library, and the smallest in-entry gaps."""
    ent = entry_ids(offsets)
    pos = intensity > 0
    order = np.argsort(mz[pos], kind="stable")
    m_pos, e_pos = mz[pos], ent[pos]
    same = e_pos[1:] == e_pos[:-1]
    gaps = np.diff(m_pos)[same]
    rel = (gaps / m_pos[1:][same]) if gaps.size else gaps
    return {"sorted_mz": m_pos[order], "sorted_intensity": intensity[pos][order],
            "sorted_entry": e_pos[order].astype(np.int32),
            "min_gap": np.array([gaps.min(initial=np.inf), rel.min(initial=np.inf)])}


def entropy_view(a, tol_da, tol_ppm, weighted, noise) -> dict[str, np.ndarray]:
    """Every entry cleaned (and weighted) like ms_entropy, sorted by m/z; vectorised.

    Entries whose peaks are already at least twice the tolerance apart need no
    merging and are cleaned with array operations; the few others go through
    :func:`~fentid.spectra.scores_ms.clean_for_entropy` one by one.
    """
    mz, inten, off = a["mz"], a["intensity"], a["offsets"]
    n = off.size - 1
    ent = entry_ids(off)
    pos = (mz > 0) & (inten > 0)
    mz32, in32, e = mz[pos].astype(np.float32), inten[pos].astype(np.float32), ent[pos]
    close = np.zeros(n, bool)
    if mz32.size > 1:
        same = e[1:] == e[:-1]
        d = np.diff(mz32)
        need = 2 * tol_da if tol_ppm <= 0 else None
        bad = d <= need if need is not None else d <= mz32[1:] * (2 * tol_ppm) * 1e-6
        close[e[1:][same & bad]] = True
    simple = ~close[e]
    mz32, in32, e = mz32[simple], in32[simple], e[simple]
    top = np.zeros(n, np.float32)
    np.maximum.at(top, e, in32)
    keep = in32 >= np.float32(noise) * top[e]
    mz32, in32, e = mz32[keep], in32[keep], e[keep]
    in32 = in32 / _per_entry_sum32(in32, e, n)[e]
    parts = [(mz32, in32, e)]
    for k in np.flatnonzero(close):
        cm, ci = sm.clean_for_entropy(mz[off[k]:off[k + 1]], inten[off[k]:off[k + 1]],
                                      tolerance_da=tol_da if tol_da > 0 else None,
                                      tolerance_ppm=tol_ppm if tol_ppm > 0 else None,
                                      noise_threshold=noise)
        parts.append((cm, ci, np.full(cm.size, k)))
    mz32 = np.concatenate([p[0] for p in parts])
    in32 = np.concatenate([p[1] for p in parts]).astype(np.float32)
    e = np.concatenate([p[2] for p in parts]).astype(np.int64)
    if weighted:
        in32 = _weight32(in32, e, n)
    order = np.argsort(mz32, kind="stable")
    y = in32[order]
    return {"sorted_mz": mz32[order], "sorted_intensity": y,
            "sorted_flog": y * np.log2(y),
            "sorted_entry": e[order].astype(np.int32)}


def _per_entry_sum32(values, ent, n) -> np.ndarray:
    return np.bincount(ent, weights=values, minlength=n).astype(np.float32)


def _weight32(in32, ent, n) -> np.ndarray:
    """Low-entropy weighting per entry (float32, as the reference)."""
    entropy = -_per_entry_sum32(in32 * np.log(in32), ent, n)
    low = entropy < 3
    power = (np.float32(0.25) + np.float32(0.25) * entropy).astype(np.float32)
    out = in32.copy()
    sel = low[ent]
    out[sel] = np.power(in32[sel], power[ent[sel]])
    sums = _per_entry_sum32(out, ent, n)
    out[sel] = out[sel] / sums[ent[sel]]
    return out
