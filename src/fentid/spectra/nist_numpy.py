"""The NIST factors of one unknown against every entry of a small library, in numpy.

Why this exists next to the compiled kernels (:mod:`fentid.spectra.nist_kernels`): numba's
first call in a process costs about half a second even with its disk cache (loading the
CPU target), and a fresh install pays a compile of several seconds.  A single-spectrum
``fentid search`` or ``identify`` against a small library (the packaged default holds a few
thousand EI spectra) needs neither: scoring every entry with numpy array operations takes a
few milliseconds.  :class:`fentid.searching.LibrarySearcher` uses this path below
:data:`SMALL_LIBRARY` entries.

Bit-identical to :func:`fentid.spectra.nist_kernels.score_rows` (and so to the reference walk):
every float term is formed with the same operations on the same operands, and each per-entry
sum is accumulated by ``np.bincount`` in array order, which is the kernel's mass order within
an entry.  Integer sums (norms, ``sum(m)``) are exact in any order.  A test compares the two
on every SWGDRUG spectrum.
"""

from __future__ import annotations

import numpy as np

#: Libraries up to this many entries of a technique are scored in full with numpy.
SMALL_LIBRARY = 20_000
_ROUND_EPS = 1e-9  # as scores_ms._ROUND_EPS
_SQRT_COUNT = np.sqrt(np.arange(1000, dtype=np.float64))


def nist_factors_all(qm, qc, lm, lc, loff, *, reverse: bool = False,
                     mass_weighted: bool = True, ratio: bool = True) -> np.ndarray:
    """NIST factor of a preprocessed unknown against every library entry.

    Parameters
    ----------
    qm, qc : ndarray of int, shape (q,)
        Unknown from :func:`fentid.spectra.scores_ms.nist_preprocess` (ascending masses,
        counts 1..999).
    lm, lc : ndarray of int, shape (p,)
        Library nominal masses (ascending within an entry) and counts 1..999.
    loff : ndarray of int, shape (n + 1,)
        Entry ``e`` owns ``[loff[e], loff[e+1])``.
    reverse, mass_weighted, ratio : bool
        Identity (False, True, True), reverse (True, True, True), similarity
        (False, False, False).

    Returns
    -------
    ndarray of float64, shape (n,)
        Integer-valued factors 0..999.
    """
    loff = np.asarray(loff, np.int64)
    n = loff.size - 1
    if n <= 0:
        return np.zeros(0)
    qm = np.asarray(qm, np.int64)
    qc = np.asarray(qc, np.int64)
    lm = np.asarray(lm, np.int64)
    lc = np.asarray(lc, np.int64)
    if qm.size == 0 or lm.size == 0:
        return np.zeros(n)
    size = int(qm[-1]) + 2
    qv = np.zeros(size, np.int64)
    qv[qm] = qc
    wq = qm.astype(np.float64) if mass_weighted else np.ones(qm.size)
    qs = np.zeros(size)
    qs[qm] = np.sqrt(wq * qc)
    cq = np.zeros(size + 1, np.int64)
    np.add.at(cq, qm[qc > 1] + 1, 1)
    cq = np.cumsum(cq)
    csize = cq.size - 1
    total_u = 0.0 if reverse else float(np.sum((wq * qc)[qc > 1]))

    ent = np.repeat(np.arange(n), np.diff(loff))
    valid = lm >= qm[0]  # library peaks below the unknown's lowest mass take no part
    a = qv[np.minimum(lm, size - 1)]
    w = lm.astype(np.float64) if mass_weighted else np.ones(lm.size)
    wb = w * lc
    contrib = valid & (a > 0) & ~((a <= 1) & (lc <= 1))
    breaker = valid & (a == 0) & (lc > 1)  # a library-only peak > 1 breaks the chain

    dot = np.bincount(ent[contrib], weights=qs[lm[contrib]] * np.sqrt(wb[contrib]),
                      minlength=n)
    lift = contrib & ((a == 1) | reverse)
    norm_u = total_u + np.bincount(ent[lift], weights=(w * a)[lift], minlength=n)
    norm_l = np.bincount(ent[contrib | breaker], weights=wb[contrib | breaker], minlength=n)
    n1 = np.bincount(ent[contrib], minlength=n).astype(np.float64)

    sum_mr = np.zeros(n)
    sum_m = np.zeros(n)
    n2 = np.zeros(n)
    if ratio:
        idx = np.flatnonzero(contrib)
        if idx.size > 1:
            cur, prev = idx[1:], idx[:-1]
            same = ent[cur] == ent[prev]
            brk = np.concatenate(([0], np.cumsum(breaker)))
            no_lib_break = brk[cur] - brk[prev + 1] == 0
            m_cur, m_prev = lm[cur], lm[prev]
            no_unknown_break = (cq[np.minimum(m_cur, csize)]
                                - cq[np.minimum(m_prev + 1, csize)]) == 0
            link = same & no_lib_break & no_unknown_break
            cur, prev = cur[link], prev[link]
            ru = _SQRT_COUNT[a[cur]] / _SQRT_COUNT[a[prev]]
            rl = _SQRT_COUNT[lc[cur]] / _SQRT_COUNT[lc[prev]]
            r = np.minimum(ru / rl, rl / ru)
            e = ent[cur]
            sum_mr = np.bincount(e, weights=lm[cur].astype(np.float64) * r, minlength=n)
            sum_m = np.bincount(e, weights=lm[cur].astype(np.float64), minlength=n)
            n2 = np.bincount(e, minlength=n).astype(np.float64)
        # the kernel runs the chain only for entries with at least two contributing peaks;
        # with fewer there is no link, so nothing differs
    denom = norm_u * norm_l
    with np.errstate(divide="ignore", invalid="ignore"):
        term1 = np.where((n1 > 0) & (denom > 0), dot * dot / np.where(denom > 0, denom, 1.0),
                         0.0)
        term2 = sum_mr / np.where(n2 > 0, sum_m, 1.0)
        mixed = (n1 * term1 + n2 * term2) / np.where(n1 + n2 > 0, n1 + n2, 1.0)
    raw = np.where(n2 > 0, 1000.0 * mixed, 1000.0 * term1)
    v = raw + _ROUND_EPS
    return np.where(v >= 1.0, np.minimum(999.0, np.floor(v)), 0.0)


def nominal_view(mz, intensity, offsets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Library spectra preprocessed as NIST does, vectorised over entries.

    Parameters
    ----------
    mz, intensity : ndarray, shape (p,)
        Concatenated peaks, m/z ascending within each entry.
    offsets : ndarray of int, shape (n + 1,)

    Returns
    -------
    masses, counts, offsets
        Nominal masses (ascending within an entry), counts 1..999 (base peak 999, rounded
        half up, zeros dropped) and the new entry offsets: per entry equal to
        :func:`fentid.spectra.scores_ms.nist_preprocess`.
    """
    from fentid.spectra.scores_ms import NIST_BASE, nominal_mass

    offsets = np.asarray(offsets, np.int64)
    n = offsets.size - 1
    ent = np.repeat(np.arange(n), np.diff(offsets))
    nom = nominal_mass(mz)
    intensity = np.asarray(intensity, np.float64)
    # equal (entry, nominal mass) peaks are adjacent: sum them with reduceat
    first = np.ones(nom.size, bool)
    first[1:] = (ent[1:] != ent[:-1]) | (nom[1:] != nom[:-1])
    starts = np.flatnonzero(first)
    summed = np.add.reduceat(intensity, starts) if starts.size else np.zeros(0)
    kent, kmass = ent[starts], nom[starts]
    top = np.zeros(n)
    if kent.size:
        entry_start = np.flatnonzero(np.r_[True, kent[1:] != kent[:-1]])
        top[kent[entry_start]] = np.maximum.reduceat(summed, entry_start)
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.floor(summed / top[kent] * NIST_BASE + 0.5)
    counts = np.where(np.isfinite(counts), counts, 0).astype(np.int64)
    keep = counts > 0
    kent, kmass, counts = kent[keep], kmass[keep], counts[keep]
    noff = np.concatenate(([0], np.cumsum(np.bincount(kent, minlength=n)))).astype(np.int64)
    return kmass.astype(np.int64), counts, noff
