"""Compiled (numba) kernels of the NIST match factors over flat library arrays.

One code path for every vectorised NIST factor in fentid:
:func:`fentid.spectra.scores_ms.nist_factors_many` and the search index
(:mod:`fentid.reference_library.search_nist`) both call :func:`score_rows`.
The literal peak walk in :func:`fentid.spectra.scores_ms._nist_walk` stays the
reference the tests compare against.

Why the result equals the reference walk bit for bit
----------------------------------------------------
:func:`score_rows` walks the *library* peaks of an entry in mass order and
looks the unknown's count up in a dense table (``qv[m]``) instead of merging
the two peak lists.  Contributing peaks are therefore visited in the same
order as in the union walk, and ``sum(w1u*w1l)`` and ``sum(m*r)`` -- the only
sums with inexact terms -- are accumulated with the same operations in the
same order.  The other sums (``sum(w1u^2)``, ``sum(w1l^2)``, ``sum(m)``) add
integers below 2**53 and are exact in any order; the unknown's norm is its
total over peaks > 1 plus its count-1 peaks that contribute.  An unknown peak
> 1 strictly between two consecutive contributing peaks is absent from the
library entry (otherwise it would contribute), so it breaks the ratio chain;
a prefix count over the unknown's masses (``cq``) detects it.  The final
combination repeats :func:`~fentid.spectra.scores_ms.finish_match_factor`
operation by operation (numba does not contract to fused multiply-adds
without ``fastmath``).

Caching
-------
Kernels are compiled on first use (about a second per kernel) and cached on
disk next to this module (``__pycache__``); where that directory and numba's
user-wide cache are not writable, compilation happens in every process
instead (see :func:`_jit`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaWarning


def _jit(fn):
    """``njit(cache=True, nogil=True)``, or without the disk cache where it cannot be written.

    numba raises ``RuntimeError`` at decoration when no cache locator is
    usable (read-only install, no writable home); the kernel then still
    works, compiled per process.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaWarning)
            return njit(cache=True, nogil=True)(fn)
    except RuntimeError:
        return njit(cache=False, nogil=True)(fn)


_ROUND_EPS = 1e-9  # as scores_ms._ROUND_EPS: same integer for float round-off
_NIST_MAX = 999.0


_SQRT_COUNT = np.sqrt(np.arange(1000, dtype=np.float64))  # sqrt(I) of counts 0..999


def query_tables(qm, qc, reverse: bool, mass_weighted: bool):
    """Lookup tables of a preprocessed unknown for :func:`score_rows`.

    Parameters
    ----------
    qm, qc : ndarray of int, shape (q,)
        Ascending nominal masses and counts 1..999 (``nist_preprocess``).
    reverse, mass_weighted : bool
        Factor variant (the unknown's total norm is not used by reverse).

    Returns
    -------
    tables : tuple
        ``qv`` (int32, count of the unknown at each mass, 0: absent), ``qs``
        (float64, ``sqrt(w * Iu)`` at each mass, ``w = m`` or 1), ``cq``
        (int32, ``cq[m]``: unknown peaks > 1 below mass ``m``), ``total_u``
        (``sum(w * Iu)`` over the unknown's peaks > 1; 0 for reverse) and
        ``qmin`` (the unknown's lowest mass).
    """
    qm = np.asarray(qm, np.int64)
    qc = np.asarray(qc, np.int64)
    size = int(qm[-1]) + 2
    qv = np.zeros(size, np.int32)
    qv[qm] = qc
    w = qm.astype(np.float64) if mass_weighted else np.ones(qm.size)
    qs = np.zeros(size)
    qs[qm] = np.sqrt(w * qc)  # correctly rounded, equal to math.sqrt in the reference walk
    cq = np.zeros(size + 1, np.int32)
    np.add.at(cq, qm[qc > 1] + 1, 1)
    cq = np.cumsum(cq).astype(np.int32)
    total_u = 0.0 if reverse else float(np.sum((w * qc)[qc > 1]))
    return qv, qs, cq, total_u, int(qm[0])


def score_entries(tables, lm, lc, loff, rows, reverse, mass_weighted, ratio, at_least=0.0):
    """:func:`score_rows` with the tables of :func:`query_tables` (thin wrapper)."""
    qv, qs, cq, total_u, qmin = tables
    return score_rows(qv, qs, cq, total_u, qmin, lm, lc, loff,
                      np.ascontiguousarray(rows, dtype=np.int64), bool(reverse),
                      bool(mass_weighted), bool(ratio), float(at_least), _SQRT_COUNT)


@_jit
def _finish(dot, norm_u, norm_l, n1, sum_mr, sum_m, n2):
    """finish_match_factor for one entry, operation by operation."""
    denom = norm_u * norm_l
    term1 = dot * dot / denom if (n1 > 0 and denom > 0) else 0.0
    if n2 > 0:
        term2 = sum_mr / sum_m
        mixed = (n1 * term1 + n2 * term2) / (n1 + n2)
        raw = 1000.0 * mixed
    else:
        raw = 1000.0 * term1
    # the reported factor is round(raw - 0.5) half up, i.e. floor(raw), 0..999
    v = raw + _ROUND_EPS
    return min(_NIST_MAX, float(np.int64(v))) if v >= 1.0 else 0.0


@_jit
def _term1_bound(dot, norm_u, norm_l, n1):
    """Upper bound of the factor from the cosine sums alone (term2 <= 1, n2 <= n1 - 1)."""
    denom = norm_u * norm_l
    if n1 <= 0 or denom <= 0:
        return 0.0
    t1 = min(1.0, dot * dot / denom * (1 + 1e-9))
    return min(_NIST_MAX, np.floor(1000.0 * (n1 * t1 + n1 - 1) / (2 * n1 - 1) + 1e-6))


@_jit
def score_rows(qv, qs, cq, total_u, qmin, lm, lc, loff, rows, reverse, mass_weighted, ratio,
               at_least, sqrt_count):
    """NIST factor of one unknown against the library entries ``rows``.

    Parameters
    ----------
    qv, qs, cq, total_u, qmin
        From :func:`query_tables`.
    lm, lc : ndarray of int, shape (p,)
        Library nominal masses (ascending within an entry) and counts 1..999.
    loff : ndarray of int64, shape (n + 1,)
        Entry ``e`` owns ``[loff[e], loff[e+1])``.
    rows : ndarray of int64
        Entries to score.
    reverse, mass_weighted, ratio : bool
        Identity (False, True, True), reverse (True, True, True),
        similarity (False, False, False).
    at_least : float
        Factors below this are reported as 0 (search shortcut; 0 for all).
        Entries whose cosine sums already bound them below it skip the
        ratio walk.
    sqrt_count : ndarray of float64
        ``sqrt(c)`` for counts 0..999.

    Returns
    -------
    ndarray of float64
        Integer-valued factors 0..999, one per row.
    """
    out = np.zeros(rows.size)
    qsize = qv.size
    csize = cq.size - 1
    for k in range(rows.size):
        e = rows[k]
        lo = loff[e]
        hi = loff[e + 1]
        while lo < hi and lm[lo] < qmin:
            lo += 1  # library peaks below the unknown's lowest mass take no part
        dot = 0.0
        norm_u = total_u
        norm_l = 0.0
        n1 = 0
        # pass 1: the cosine sums (contributing peaks in mass order, as the reference)
        for p in range(lo, hi):
            m = np.int64(lm[p])
            b = np.int64(lc[p])
            a = np.int64(qv[min(m, qsize - 1)])  # qv[qsize - 1] == 0: past the last peak
            w = float(m) if mass_weighted else 1.0
            if a > 0:
                if a <= 1 and b <= 1:
                    continue  # both count 1: ignored, the chain goes on
                dot += qs[m] * math.sqrt(w * b)
                if reverse or a == 1:
                    # a count-1 unknown peak counts only when it contributes
                    norm_u += w * a
                norm_l += w * b
                n1 += 1
            elif b > 1:
                norm_l += w * b
        if not ratio or n1 < 2:
            score = _finish(dot, norm_u, norm_l, n1, 0.0, 0.0, 0)
            out[k] = score if score >= at_least else 0.0
            continue
        if at_least > 0 and _term1_bound(dot, norm_u, norm_l, n1) < at_least:
            continue
        # pass 2: the ratio chain over the same contributing peaks
        sum_mr = 0.0
        sum_m = 0.0
        n2 = 0
        linked = False  # the previous contributing peak is still chained
        pa = 1
        pb = 1
        pm = 0
        for p in range(lo, hi):
            m = np.int64(lm[p])
            b = np.int64(lc[p])
            a = np.int64(qv[min(m, qsize - 1)])
            if a > 0:
                if a <= 1 and b <= 1:
                    continue
                # unknown-only peaks > 1 between the two break the chain (reverse too:
                # NIST leaves them out of the norms only)
                if linked and cq[min(m, csize)] - cq[min(pm + 1, csize)] == 0:
                    ru = sqrt_count[a] / sqrt_count[pa]
                    rl = sqrt_count[b] / sqrt_count[pb]
                    sum_mr += m * min(ru / rl, rl / ru)
                    sum_m += m
                    n2 += 1
                linked = True
                pa = a
                pb = b
                pm = m
            elif b > 1:
                linked = False
        score = _finish(dot, norm_u, norm_l, n1, sum_mr, sum_m, n2)
        out[k] = score if score >= at_least else 0.0
    return out


@_jit
def scatter_dot(post_off, head, post_entry, post_sqrt, post_count, masses, counts, n):
    """Partial identity sums per entry over the postings of some unknown peaks.

    Parameters
    ----------
    post_off, head, post_entry, post_sqrt, post_count
        The nominal-mass inverted index (postings of a mass sorted by count
        descending, ``head[m]`` of them with count > 1).
    masses, counts : ndarray of int64
        The chosen unknown peaks (masses inside the index).
    n : int
        Number of entries.

    Returns
    -------
    dot : ndarray of float64, shape (n,)
        ``sum(m * sqrt(Iu * Il))`` over the contributing pairs (a count-1
        unknown peak meets only library peaks > 1).
    lib : ndarray of float64, shape (n,)
        ``sum(m * Il)`` over the same pairs: the part of the library norm
        that lies on the chosen masses.
    """
    dot = np.zeros(n)
    lib = np.zeros(n)
    scatter_more(post_off, head, post_entry, post_sqrt, post_count, masses, counts, dot, lib)
    return dot, lib


@_jit
def scatter_more(post_off, head, post_entry, post_sqrt, post_count, masses, counts, dot, lib):
    """:func:`scatter_dot` adding into existing ``dot`` and ``lib``; returns the entries
    touched for the first time (``dot`` was 0), in order of first touch."""
    total = 0
    for i in range(masses.size):
        m = masses[i]
        total += post_off[m + 1] - post_off[m]
    fresh = np.empty(total, np.int64)
    k = 0
    for i in range(masses.size):
        m = masses[i]
        c = counts[i]
        coef = m * math.sqrt(c)
        end = post_off[m + 1] if c > 1 else post_off[m] + head[m]
        for p in range(post_off[m], end):
            e = post_entry[p]
            if dot[e] == 0.0:
                fresh[k] = e
                k += 1
            dot[e] += coef * post_sqrt[p]
            lib[e] += m * post_count[p]
    return fresh[:k]


@_jit
def top_by_proxy(touched, dot, norm, k):
    """The ``k`` entries of ``touched`` with the largest ``dot / sqrt(max(norm, 1))``."""
    k = min(k, touched.size)
    best = np.empty(k, np.int64)
    val = np.empty(k)
    filled = 0
    worst = 0  # slot of the smallest kept value once full
    for i in range(touched.size):
        e = touched[i]
        v = dot[e] / math.sqrt(max(norm[e], 1.0))
        if filled < k:
            best[filled] = e
            val[filled] = v
            filled += 1
            if filled == k:
                worst = np.argmin(val)
        elif v > val[worst]:
            best[worst] = e
            val[worst] = v
            worst = np.argmin(val)
    return best[:filled].copy()


@_jit
def maxscore_bounds(touched, dot, lib, nl_low, nl_high, nl_extra, u0, u_s, tau, slack):
    """Identity-factor upper bounds of the entries reached by the heavy unknown peaks ``E``.

    With ``A = dot_E / sqrt(U0)``, ``B = sqrt(U_S / U0)`` and ``L = lib_E``,
    Cauchy-Schwarz on the light peaks ``S`` (whose library norm is at most
    ``Nl - L``) gives ``cos <= g(1/Nl)``, ``g(t) = A sqrt(t) + B sqrt(1 - L t)``.
    ``g`` is concave in ``t``, so its maximum over ``Nl`` in
    ``[max(nl_low, L), nl_high]`` is at the stationary point clipped to that
    interval; then ``MF <= 1000 * (1 + cos^2) / 2`` (rounded).

    Parameters
    ----------
    touched : ndarray of int64
        Entries to bound (those with ``dot > 0``; others are skipped).
    dot, lib : ndarray of float64, shape (n,)
        From :func:`scatter_dot` over ``E``.
    nl_low, nl_high : ndarray of float64, shape (n,)
        Lower and upper bounds of each entry's library norm ``Nl``; ``nl_extra``
        (float) is added to every upper bound.
    u0 : float
        ``sum(m * Iu)`` over the unknown's peaks > 1 (at most its norm).
    u_s : float
        ``sum(m * Iu)`` over the unknown's peaks outside ``E``.
    tau : float
        Only entries whose bound reaches ``tau`` are returned.
    slack : float
        Relative widening (float32 postings).

    Returns
    -------
    cand : ndarray of int64
    bound : ndarray of float64
    """
    n = touched.size
    cand = np.empty(n, np.int64)
    bound = np.empty(n)
    k = 0
    b = math.sqrt(u_s / u0)
    # quick rejection with the looser cos <= A/sqrt(low) + B (no square roots):
    # MF >= tau needs cos^2 >= 2*tau/1000 - 1, so A >= (c_min - B)*sqrt(low)
    t_need = 2 * (tau - 1e-6) / 1000.0 - 1
    c_min = math.sqrt(t_need) * (1 - 4 * slack) if t_need > 0 else 0.0
    gap = c_min - b
    inv_u0 = (1 + slack) * (1 + slack) / u0
    for i in range(n):
        e = touched[i]
        if dot[e] <= 0:
            continue
        low = max(nl_low[e], lib[e])
        if gap > 0 and low > 0 and dot[e] * dot[e] * inv_u0 < gap * gap * low * (1 - slack):
            continue
        if low <= 0:
            cos = 1.0
        else:
            a = dot[e] * (1 + slack) / math.sqrt(u0)
            lo_t = 1.0 / max(nl_high[e] + nl_extra, low)
            hi_t = 1.0 / low
            big_l = lib[e]
            if big_l > 0:
                t = a * a / (big_l * (a * a + b * b * big_l))
                t = min(max(t, lo_t), hi_t)
            else:
                t = hi_t
            cos = a * math.sqrt(t) + b * math.sqrt(max(0.0, 1.0 - big_l * t))
            cos = cos * (1 + slack) + 1e-12
        t1 = min(1.0, cos * cos)
        value = min(_NIST_MAX, max(0.0, np.floor(1000.0 * (1 + t1) / 2 + 1e-6)))
        if value >= tau:
            cand[k] = e
            bound[k] = value
            k += 1
    return cand[:k].copy(), bound[:k].copy()


@_jit
def term1_sums(post_off, head, post_entry, post_sqrt, post_count, norm_start, qm, qc,
               low_from, reverse, mass_weighted, total_u, n):
    """Exact ``term1`` inputs of every entry sharing a contributing peak with the unknown.

    Parameters
    ----------
    post_off, head, post_entry, post_sqrt, post_count
        The nominal-mass inverted index (postings of a mass sorted by count
        descending, ``head[m]`` of them with count > 1).
    norm_start : ndarray of float64, shape (n,)
        Library norms over peaks > 1 at or above mass ``low_from`` (overwritten).
    qm, qc : ndarray of int64
        The unknown (ascending masses inside the index).
    low_from : int
        Peaks > 1 with ``low_from <= m < qm[0]`` are subtracted from ``norm_start``.
    reverse, mass_weighted : bool
    total_u : float
        The unknown's norm over its peaks > 1 (identity, similarity).
    n : int

    Returns
    -------
    dot, n1, norm_u, norm_l : ndarray of float64, shape (n,)
        ``norm_l`` is ``norm_start`` adjusted in place.
    """
    dot = np.zeros(n)
    n1 = np.zeros(n)
    norm_u = np.zeros(n)
    norm_l = norm_start
    size = post_off.size - 1
    for m in range(low_from, min(qm[0], size)):
        w = float(m) if mass_weighted else 1.0
        for p in range(post_off[m], post_off[m] + head[m]):
            norm_l[post_entry[p]] -= w * post_count[p]
    for i in range(qm.size):
        m = qm[i]
        if m >= size:
            continue
        c = qc[i]
        w = float(m) if mass_weighted else 1.0
        coef = w * math.sqrt(c)
        # an unknown peak > 1 meets every posting; a count-1 peak only the head (> 1)
        end = post_off[m + 1] if c > 1 else post_off[m] + head[m]
        for p in range(post_off[m], end):
            e = post_entry[p]
            dot[e] += coef * post_sqrt[p]
            n1[e] += 1.0
            if reverse:
                norm_u[e] += w * c
            elif c == 1:
                norm_u[e] += w
            if post_count[p] == 1:
                norm_l[e] += w  # a count-1 library peak counts when it contributes
    if not reverse:
        for e in range(n):
            norm_u[e] += total_u
    return dot, n1, norm_u, norm_l
