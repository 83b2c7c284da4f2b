"""Accurate-mass search over peaks sorted by m/z: weighted cosine and entropy.

Part of :mod:`fentid.reference_library.search` (split for size).  Each query
peak looks only at the library peaks inside its tolerance window (binary search
in one m/z-sorted array, ms_entropy's Flash idea); per-pair terms are summed per
entry with one scatter-add.  When every spectrum's peaks are more than twice the
tolerance apart each query peak has at most one partner per entry, so the sum
is the exact score; the entropy view is cleaned like ms_entropy to guarantee
it, and cosine falls back to exact pair scoring otherwise.  Big entropy top-N
searches are pruned with an exact bound (:func:`entropy_bounds`).
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


def window_pairs(view, mq, tol_da, tol_ppm, with_edge=False):
    """(query peak, sorted-view position) pairs within tolerance.

    With ``with_edge``, also the upper edge of each query peak's window (a view
    peak ``p`` is in window ``i`` iff ``low[i] <= p <= edge[i]``) and the windows as
    view positions ``[lo[i], hi[i])``.
    """
    smz = view["sorted_mz"]
    mq = mq.astype(smz.dtype)  # same dtype as the view: no conversion of the library
    half = (mq * tol_ppm * 1e-6 if tol_ppm > 0 else np.full(mq.size, tol_da)).astype(smz.dtype)
    edge = mq + half
    lo = np.searchsorted(smz, mq - half, side="left")
    hi = np.searchsorted(smz, edge, side="right")
    j = ranges(lo, hi)
    i = np.repeat(np.arange(mq.size), hi - lo)
    return (i, j, edge, lo, hi) if with_edge else (i, j)

def cosine_scores(seg, query: PeakList, a_pow, b_pow, tol_da, tol_ppm, matching):
    """Weighted-cosine scores of the entries sharing a peak with ``query``.

    Where every query peak has at most one partner in an entry and every library
    peak at most one partner in the query, greedy and optimal matching both pair
    everything, and the score is the plain sum of the pair products (one
    scatter-add).  That is decided per (query peak, library peak) pair, exactly:
    a query window holds two peaks of one entry iff it holds a peak and that
    peak's successor in its entry (``sorted_next``); a library peak has two query
    partners iff it appears in two windows.  Only the entries where one of those
    happens are scored with the pair function (e.g. 0.5 Da on nominal masses has
    none: integer peaks are 1 Da apart, more than the 0.5 Da reach of a window).
    """
    view = seg.sorted_view()
    key = ("cosnorm", a_pow, b_pow)
    if key not in seg._cache:
        w = view["sorted_mz"] ** a_pow * view["sorted_intensity"] ** b_pow
        seg._cache[key] = (np.sqrt(np.bincount(view["sorted_entry"], weights=w * w,
                                               minlength=seg.n)), w)
    norms, wlib = seg._cache[key]
    mq, iq = sm._positive(query)
    if mq.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    wq = mq**a_pow * iq**b_pow
    i, j, top_edge, lo, hi = window_pairs(view, mq, tol_da, tol_ppm, with_edge=True)
    if j.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    ent = view["sorted_entry"][j]
    # windows ascend with the query peaks (lo and hi non-decreasing), so a view peak of
    # window i lies in another window iff it lies in window i-1 or i+1
    hi_before = np.concatenate(([0], hi[:-1]))
    lo_after = np.concatenate((lo[1:], [np.iinfo(np.int64).max]))
    shared = (j < hi_before[i]) | (j >= lo_after[i])
    clash = shared | (view["sorted_next"][j] <= top_edge[i])
    total = np.bincount(ent, weights=wq[i] * wlib[j], minlength=seg.n)
    seen = np.zeros(seg.n, bool)
    seen[ent] = True
    cand = np.flatnonzero(seen)
    scores = np.minimum(1.0, total[cand] / (np.sqrt(np.sum(wq * wq)) * norms[cand]))
    if clash.any():
        hard = np.zeros(seg.n, bool)
        hard[ent[clash]] = True
        sel = np.flatnonzero(hard[cand])
        mz, inten, off = seg.a["mz"], seg.a["intensity"], seg.a["offsets"]
        for k in sel:
            e = cand[k]
            scores[k] = sm.weighted_cosine(
                query, PeakList(mz[off[e]:off[e + 1]], inten[off[e]:off[e + 1]]),
                mz_power=a_pow, intensity_power=b_pow, preset=None, tolerance_da=tol_da,
                tolerance_ppm=tol_ppm if tol_ppm > 0 else None, matching=matching)
    return cand, scores


def entropy_scores(seg, query: PeakList, tol_da, tol_ppm, weighted, noise, top=None):
    """Entropy similarity of library entries sharing a peak with ``query`` (Flash-style).

    With ``top`` given, only entries that can reach the ``top`` best are returned
    (with exact scores), see :func:`_entropy_pruned`; otherwise every entry with a
    matched peak.
    """
    key = ("entropy", tol_da, tol_ppm, weighted, noise)
    if key not in seg._cache:
        if key[1:] == STORED_ENTROPY_PARAMS and ENTROPY_KEYS[0] in seg.a:
            seg._cache[key] = {k[len("entropy_"):]: seg.a[k] for k in ENTROPY_KEYS}
        else:
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
    # float32 terms (as ms_entropy computes them); the sum is float64
    x = iq.astype(np.float32)
    peaks = np.flatnonzero(hi > lo)
    if top is not None and int((hi - lo).sum()) >= PRUNE_MIN_PAIRS:
        found = _entropy_pruned(seg, view, x, lo, hi, peaks, int(top))
        if found is not None:
            return found
    total = _entropy_gains(seg.n, view, x, lo, hi, peaks)[0]
    cand = np.flatnonzero(total > 0)  # matched peaks always gain > 0
    return cand, total[cand] / 2


def _entropy_gains(n, view, x, lo, hi, peaks, with_y=False):
    """Per-entry sums of the pair gains ``g(x, y)`` over the windows of ``peaks``.

    ``g(x, y) = f(x+y) - f(x) - f(y)``, ``f(v) = v log2 v``, ``f(y)`` stored in the
    view: one log per pair over contiguous slices, one scatter-add.  With
    ``with_y`` also the per-entry sum of the matched library intensities ``y``.
    """
    fx = x * np.log2(x)
    ents, gains, ys = [], [], []
    for k in peaks:
        y = view["sorted_intensity"][lo[k]:hi[k]]
        xy = y + x[k]
        gains.append(xy * np.log2(xy) - fx[k] - view["sorted_flog"][lo[k]:hi[k]])
        ents.append(view["sorted_entry"][lo[k]:hi[k]])
        ys.append(y)
    if not ents:
        return np.zeros(n), np.zeros(n)
    ent = np.concatenate(ents)
    total = np.bincount(ent, weights=np.concatenate(gains), minlength=n)
    matched = np.bincount(ent, weights=np.concatenate(ys), minlength=n) if with_y else None
    return total, matched


#: Fraction of the query's (weighted, normalised) intensity left to the light peaks
#: whose windows are only scanned for candidates; unreached entries score <= sqrt of it.
_LIGHT_SHARE = 0.3
#: Below this many (query peak, library peak) pairs the plain scan is as fast (measured:
#: pruning pays at 1M entries, about breaks even at 100k, costs 30 % at 10k).
PRUNE_MIN_PAIRS = 3_000_000
_ENTROPY_SLACK = 1e-5  # float32 terms: keep entries within this of the threshold


def entropy_bounds(n, view, x, lo, hi, peaks):
    """Heavy-peak partial sums and upper bounds of the entropy similarity (see
    :func:`_entropy_pruned`).

    Returns
    -------
    partial : ndarray, shape (n,)
        ``sum g`` over the heavy peaks' windows (twice their part of the score).
    reached : ndarray of int
        Entries with a peak in a heavy window.
    bound : ndarray, same size as ``reached``
        Upper bounds of their similarity.
    unreached : float
        Upper bound for every other entry, ``sqrt(X_L)``.
    light : ndarray of int
        The light query peaks (indices into ``x``) whose windows were not scored.
    """
    order = peaks[np.argsort(-x[peaks], kind="stable")]
    light_after = float(x[peaks].sum(dtype=np.float64)) - np.cumsum(x[order], dtype=np.float64)
    j = int(np.searchsorted(-light_after, -_LIGHT_SHARE, side="left"))
    x_l = max(float(light_after[min(j, order.size - 1)]), 0.0)  # windowless peaks match nothing
    partial, y_h = _entropy_gains(n, view, x, lo, hi, order[:j + 1], with_y=True)
    reached = np.flatnonzero(y_h > 0)
    bound = (partial[reached] / 2 + _ENTROPY_SLACK
             + np.sqrt(x_l * np.maximum(0.0, 1.0 - y_h[reached] + _ENTROPY_SLACK)))
    return partial, reached, bound, float(np.sqrt(x_l)), order[j + 1:]


def _entropy_pruned(seg, view, x, lo, hi, peaks, top):
    """Exact top candidates of an entropy search, scoring light-peak pairs of few entries.

    Entropy similarity is ``sum g(x_i, y_i) / 2`` over matched pairs with
    ``g(x, y) = (x + y) * H2(x / (x + y)) <= 2*sqrt(x*y)`` (binary entropy in bits,
    ``H2(p) <= 2*sqrt(p*(1 - p))``), every ``g >= 0``, and each side sums to 1.
    The heaviest query peaks ``H`` (all but a share ``X_L <= _LIGHT_SHARE``) are
    scored for every entry in their windows.  By Cauchy-Schwarz the light peaks add
    at most ``sqrt(X_L * (1 - Y_H))`` (``Y_H``: the entry's intensity matched in
    ``H``), and entries outside ``H``'s windows score at most ``sqrt(X_L)``.  The
    ``top``-th best partial score (a lower bound, gains being >= 0) sets the
    threshold; the light windows are then scanned only for the entries whose bound
    reaches it.  Returns None (full scan instead) when the threshold cannot exclude
    the unreached entries.
    """
    if peaks.size < 2:
        return None
    partial, reached, bound, unreached, light = entropy_bounds(seg.n, view, x, lo, hi, peaks)
    if reached.size < top:
        return None
    part = partial[reached] / 2
    tau = float(np.partition(part, part.size - top)[part.size - top])
    if unreached + _ENTROPY_SLACK >= tau:
        return None
    cand = reached[bound >= tau - _ENTROPY_SLACK]
    if light.size == 0 or cand.size == 0:
        return cand, partial[cand] / 2
    wanted = np.zeros(seg.n, bool)  # 1 byte per entry: the lookups stay in cache
    wanted[cand] = True
    fx = x * np.log2(x)
    ents, gains = [], []
    for k in light:
        e = view["sorted_entry"][lo[k]:hi[k]]
        sel = np.flatnonzero(wanted[e])
        if sel.size:
            y = view["sorted_intensity"][lo[k] + sel]
            xy = y + x[k]
            gains.append(xy * np.log2(xy) - fx[k] - view["sorted_flog"][lo[k] + sel])
            ents.append(e[sel])
    total = partial
    if ents:
        total = total + np.bincount(np.concatenate(ents), weights=np.concatenate(gains),
                                    minlength=seg.n)
    return cand, total[cand] / 2


def sorted_mz_view(mz, intensity, offsets) -> dict[str, np.ndarray]:
    """Positive peaks sorted by m/z across the library.

    ``sorted_next`` is the m/z of the next positive peak of the same entry (inf for
    an entry's last peak), which tells exactly whether a tolerance window holds two
    peaks of one entry (see :func:`cosine_scores`).
    """
    ent = entry_ids(offsets)
    pos = intensity > 0
    m_pos, e_pos = mz[pos], ent[pos]
    nxt = np.full(m_pos.size, np.inf)
    if m_pos.size > 1:
        same = e_pos[1:] == e_pos[:-1]
        nxt[:-1][same] = m_pos[1:][same]  # entries are sorted by m/z within themselves
    order = np.argsort(m_pos, kind="stable")
    return {"sorted_mz": m_pos[order], "sorted_intensity": intensity[pos][order],
            "sorted_entry": e_pos[order].astype(np.int32),
            "sorted_next": nxt[order].astype(m_pos.dtype)}


#: Parameters of the entropy view an index may store (``SearchIndex.build(entropy=True)``):
#: tolerance 0.02 Da, no ppm, weighted, noise 1 % (the entropy search defaults).
STORED_ENTROPY_PARAMS = (*sm._tolerance(0.02, None), True, 0.01)
ENTROPY_KEYS = ("entropy_sorted_mz", "entropy_sorted_intensity", "entropy_sorted_flog",
                "entropy_sorted_entry")


def stored_entropy_view(a) -> dict[str, np.ndarray]:
    """The default-parameter entropy view under its stored names."""
    view = entropy_view(a, *STORED_ENTROPY_PARAMS)
    return {"entropy_" + k: v for k, v in view.items()}


def stored_view_consistent(arrays) -> bool:
    """Whether a stored entropy view (if any) has equally long arrays.

    Sizes only, like the other index checks: reading the entries to check their
    range would load the whole view at open (the library checksum covers content).
    """
    if ENTROPY_KEYS[0] not in arrays:
        return True
    size = arrays[ENTROPY_KEYS[0]].size
    return all(arrays[k].size == size for k in ENTROPY_KEYS)


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
    if e.size:  # e is ascending: one reduceat instead of the (slow) unbuffered maximum.at
        first = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
        top[e[first]] = np.maximum.reduceat(in32, first)
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
    order = argsort_positive32(mz32)
    y = in32[order]
    return {"sorted_mz": mz32[order], "sorted_intensity": y,
            "sorted_flog": y * np.log2(y),
            "sorted_entry": e[order].astype(np.int32)}


def argsort_positive32(values: np.ndarray) -> np.ndarray:
    """Stable argsort of positive float32 values by two 16-bit radix passes.

    The bit patterns of non-negative float32 numbers sort like the numbers, and
    numpy's stable sort of 16-bit integers is a radix sort: about twice as fast
    as the comparison sort of the floats at 50 million peaks (1M-spectrum library).
    """
    bits = np.ascontiguousarray(values, np.float32).view(np.uint32)
    order = np.argsort((bits & 0xFFFF).astype(np.uint16), kind="stable")
    high = (bits >> 16).astype(np.uint16)
    return order[np.argsort(high[order], kind="stable")]


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
