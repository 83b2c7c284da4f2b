"""Mass-spectral similarity scores: NIST match factors, weighted cosine, entropy.

Every score is a pure function of two :class:`~fentid.spectra.model.PeakList`
objects (``position`` is m/z).  The NIST factors also have a vectorised
one-against-library form, :func:`nist_factors_many`, that the search index
(:mod:`fentid.reference_library.search`) uses on flat library arrays.

NIST identity and reverse match factors
---------------------------------------
Implemented from the published clean-room description of NIST MS Search's
"EI Normal" identity search (Samokhin, JASMS 2024), as spelled out in issue 5:

1. m/z to nominal mass with the bin boundary at 0.649: ``m = ceil(mz - 0.649)``
   (57.649 -> 57, 57.65 -> 58); intensities falling in one bin are summed.
2. Base peak scaled to 999, intensities rounded half up to integers, zeros
   dropped.
3. Only masses at or above the unknown's lowest mass take part (library peaks
   below it are removed).
4. Weights ``w1 = sqrt(m * I)`` (cosine term) and ``w2 = sqrt(I)`` (ratio term).
   Walking the union of peaks in mass order:

   * a peak in both spectra where either intensity is > 1 *contributes*: it
     adds to ``sum(w1u*w1l)``, ``sum(w1u^2)``, ``sum(w1l^2)`` and to ``n1``;
   * for two consecutive contributing peaks, ``R = w2(this) / w2(previous)``
     on each side and ``r = min(Ru/Rl, Rl/Ru)``; ``m * r`` and ``m`` (mass of
     this peak) are added to two sums and ``n2 += 1``;
   * a peak in only one spectrum with intensity > 1 adds to that spectrum's
     ``sum(w1^2)`` and breaks the ratio chain;
   * decisions the description leaves open, made here: a peak in both spectra
     with both intensities equal to 1, or in one spectrum with intensity 1,
     is ignored entirely (adds nothing and does not break the chain).

   ``term1 = sum(w1u*w1l)^2 / (sum(w1u^2) * sum(w1l^2))``,
   ``term2 = sum(m*r) / sum(m)``,
   ``MF = 1000 * (n1*term1 + n2*term2) / (n1 + n2) - 0.5`` (``1000*term1 - 0.5``
   when ``n2 == 0``).  The reported factor is that value *rounded* to the
   nearest integer (half up), floored at 0 and capped at 999, so a spectrum
   against itself scores 999 and disjoint spectra 0.  Rounding, not
   truncation, is what NIST MS Search 2.4 reports: its own hit list in
   ``shared/data/ms/NIST-MS-Search-peer`` is reproduced exactly (truncation put
   half of those values one low).  ``round(x - 0.5)`` is ``floor(x)``.

The reverse factor ignores peaks of the unknown absent from the library
spectrum in the norms, but such a peak (intensity > 1) still breaks the ratio
chain, as in the identity factor (with the chain running on, NIST's reverse
values on the peer set are missed by up to 16).  The simple similarity factor
uses ``w1 = sqrt(I)`` and no ratio term (``1000*term1 - 0.5``).

Weighted cosine
---------------
Weights ``mz**a * I**b``; presets in :data:`COSINE_PRESETS`.  Peaks are paired
within a tolerance (Da or ppm of the query m/z), each peak used at most once:
``matching="greedy"`` pairs the largest weight products first (matchms
``CosineGreedy``), ``matching="optimal"`` maximises the summed products with
the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``).  When the
peaks of each spectrum are more than twice the tolerance apart (centroided
data), every peak has at most one partner and both give the same value.

Entropy similarity
------------------
Li et al., Nat Methods 18, 1524-1531 (2021), cleaned exactly as the reference
implementation (``ms_entropy``) does: drop non-positive peaks, merge peaks
closer than twice the tolerance (most intense first, intensity-weighted m/z),
drop peaks below 1 % of the base peak, normalise to sum 1 (float32, as there).
Peaks exactly twice the tolerance apart are merged, as in the compiled
``ms_entropy`` functions users call (its pure-Python fallback keeps them).
The weighted variant raises intensities to ``0.25 + 0.25 * S`` when the
spectral entropy ``S`` is below 3 and renormalises.
"""

from __future__ import annotations

import math

import numpy as np

from fentid.errors import SpectrumError
from fentid.spectra.model import PeakList

NIST_BIN_BOUNDARY = 0.649
NIST_BASE = 999
#: Weighted-cosine presets ``name -> (mz_power a, intensity_power b)``:
#: NIST GC-MS (Stein & Scott, JASMS 1994: m^3 I^0.6), MassBank (m^2 I^0.5),
#: plain square-root intensities (m^0 I^0.5).
COSINE_PRESETS = {"nist_gc": (3.0, 0.6), "massbank": (2.0, 0.5), "sqrt": (0.0, 0.5)}
#: Largest reported NIST factor (a spectrum against itself).
NIST_MAX = 999.0
# Guards the integer rounding of the MF against float round-off, so that two
# summation orders of the same sums report the same integer.
_ROUND_EPS = 1e-9


# ----------------------------------------------------------------------------------
# NIST preprocessing
# ----------------------------------------------------------------------------------
def nominal_mass(mz) -> np.ndarray:
    """Nominal mass of m/z values with NIST's bin boundary at 0.649.

    Parameters
    ----------
    mz : array_like of float
        m/z values.

    Returns
    -------
    ndarray of int64
        ``ceil(mz - 0.649)``: 57.649 -> 57, 57.65 -> 58.
    """
    # Work in thousandths so 57.649 lands exactly on the boundary despite binary floats.
    milli = np.rint(np.asarray(mz, dtype=np.float64) * 1000.0)
    return np.ceil((milli - 649.0) / 1000.0).astype(np.int64)


def nist_preprocess(mz, intensity) -> tuple[np.ndarray, np.ndarray]:
    """Bin to nominal mass, scale the base peak to 999, round, drop zeros.

    Parameters
    ----------
    mz, intensity : array_like, shape (n,)
        Peaks in any order; intensities >= 0.

    Returns
    -------
    masses : ndarray of int64, shape (k,)
        Ascending nominal masses.
    counts : ndarray of int64, shape (k,)
        Intensities 1..999 (base peak 999).
    """
    mz = np.asarray(mz, dtype=np.float64)
    intensity = np.asarray(intensity, dtype=np.float64)
    if mz.shape != intensity.shape:
        raise SpectrumError("m/z and intensity arrays differ in length")
    if np.any(intensity < 0):
        raise SpectrumError("negative intensities cannot be scored")
    if mz.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    masses, inverse = np.unique(nominal_mass(mz), return_inverse=True)
    summed = np.bincount(inverse, weights=intensity, minlength=masses.size)
    top = summed.max()
    if top <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts = np.floor(summed / top * NIST_BASE + 0.5).astype(np.int64)
    keep = counts > 0
    return masses[keep], counts[keep]


def finish_match_factor(dot, norm_u, norm_l, n1, sum_mr, sum_m, n2) -> np.ndarray:
    """Combine the NIST sums into the reported integer factor (vectorised).

    Parameters
    ----------
    dot, norm_u, norm_l : ndarray of float
        ``sum(w1u*w1l)``, ``sum(w1u^2)``, ``sum(w1l^2)``.
    n1, n2 : ndarray of int
        Contributing peaks and ratio-chain links.
    sum_mr, sum_m : ndarray of float
        ``sum(m*r)`` and ``sum(m)`` over the links.

    Returns
    -------
    ndarray of float64
        ``MF`` rounded half up, clipped to 0..999: ``min(999, floor(MF + 0.5))``,
        integer-valued.
    """
    dot, norm_u, norm_l = (np.asarray(v, dtype=np.float64) for v in (dot, norm_u, norm_l))
    n1 = np.asarray(n1, dtype=np.float64)
    n2 = np.asarray(n2, dtype=np.float64)
    denom = norm_u * norm_l
    with np.errstate(divide="ignore", invalid="ignore"):
        term1 = np.where((n1 > 0) & (denom > 0), dot * dot / np.where(denom > 0, denom, 1), 0.0)
        term2 = np.where(n2 > 0, np.asarray(sum_mr, float) / np.where(n2 > 0, sum_m, 1), 0.0)
        mixed = (n1 * term1 + n2 * term2) / np.where(n1 + n2 > 0, n1 + n2, 1)
    # round(1000*x - 0.5) half up is floor(1000*x)
    raw = np.where(n2 > 0, 1000.0 * mixed, 1000.0 * term1)
    return np.clip(np.floor(raw + _ROUND_EPS), 0.0, NIST_MAX) + 0.0  # + 0.0: no -0.0


def _nist_walk(mu, iu, ml, il, *, reverse: bool, mass_weighted: bool, ratio: bool):
    """Reference implementation: the literal peak walk of the clean-room description."""
    if mu.size == 0 or ml.size == 0:
        return 0.0
    keep = ml >= mu[0]
    ml, il = ml[keep], il[keep]
    qu = dict(zip(mu.tolist(), iu.tolist()))
    ql = dict(zip(ml.tolist(), il.tolist()))
    dot = norm_u = norm_l = 0.0
    sum_mr = sum_m = 0.0
    n1 = n2 = 0
    prev = None  # (Iu, Il) of the previous contributing peak while the chain is unbroken
    for m in sorted(set(qu) | set(ql)):
        a, b = qu.get(m, 0), ql.get(m, 0)
        w = float(m) if mass_weighted else 1.0
        if a > 0 and b > 0:
            if max(a, b) <= 1:
                continue
            dot += math.sqrt(w * a) * math.sqrt(w * b)
            norm_u += w * a
            norm_l += w * b
            n1 += 1
            if ratio and prev is not None:
                ru = math.sqrt(a) / math.sqrt(prev[0])
                rl = math.sqrt(b) / math.sqrt(prev[1])
                sum_mr += m * min(ru / rl, rl / ru)
                sum_m += m
                n2 += 1
            prev = (a, b)
        elif a > 1:
            if not reverse:  # reverse: absent from the norms, but it breaks the chain
                norm_u += w * a
            prev = None
        elif b > 1:
            norm_l += w * b
            prev = None
    return float(finish_match_factor(dot, norm_u, norm_l, n1, sum_mr, sum_m, n2))


def _nist_pair(query: PeakList, reference: PeakList, **kwargs) -> float:
    mu, iu = nist_preprocess(query.position, query.intensity)
    ml, il = nist_preprocess(reference.position, reference.intensity)
    return _nist_walk(mu, iu, ml, il, **kwargs)


def identity_match_factor(query: PeakList, reference: PeakList) -> float:
    """NIST identity (EI Normal) match factor of ``query`` against ``reference``.

    Parameters
    ----------
    query : PeakList
        The unknown (m/z, intensity).
    reference : PeakList
        The library spectrum.

    Returns
    -------
    float
        Integer-valued match factor 0..999 (999: identical spectra).
    """
    return _nist_pair(query, reference, reverse=False, mass_weighted=True, ratio=True)


def reverse_match_factor(query: PeakList, reference: PeakList) -> float:
    """NIST reverse match factor: unknown-only peaks are ignored. See module notes."""
    return _nist_pair(query, reference, reverse=True, mass_weighted=True, ratio=True)


def similarity_factor(query: PeakList, reference: PeakList) -> float:
    """NIST simple similarity factor: ``w1 = sqrt(I)``, ``1000*term1 - 0.5``, 0..999."""
    return _nist_pair(query, reference, reverse=False, mass_weighted=False, ratio=False)


def nist_factors_many(mu, iu, ml, il, offsets, *, reverse=False, mass_weighted=True,
                      ratio=True, at_least: float = 0.0) -> np.ndarray:
    """NIST factor of one preprocessed query against many library spectra at once.

    Parameters
    ----------
    mu, iu : ndarray of int, shape (q,)
        Query from :func:`nist_preprocess` (ascending masses, counts 1..999).
    ml, il : ndarray of int, shape (p,)
        Library spectra from :func:`nist_preprocess`, concatenated; entry ``k``
        owns ``[offsets[k], offsets[k+1])``, masses ascending within an entry.
    offsets : ndarray of int, shape (n + 1,)
    reverse, mass_weighted, ratio : bool
        Identity: (False, True, True); reverse: (True, True, True);
        similarity: (False, False, False).
    at_least : float
        Search shortcut: factors below this are reported as 0.

    Returns
    -------
    ndarray of float64, shape (n,)
        Integer-valued factors, equal to the pair functions entry by entry
        (for ``at_least=0``): the compiled walk of
        :func:`fentid.spectra.nist_kernels.score_rows`.
    """
    # imported here: numba's import (~0.3 s) stays off the path of commands that never score
    from fentid.spectra import nist_kernels as nk

    offsets = np.asarray(offsets, dtype=np.int64)
    n = offsets.size - 1
    if n <= 0:
        return np.zeros(0)
    mu = np.asarray(mu, dtype=np.int64)
    iu = np.asarray(iu, dtype=np.int64)
    if mu.size == 0 or np.asarray(ml).size == 0:
        return np.zeros(n)
    tables = nk.query_tables(mu, iu, reverse, mass_weighted)
    return nk.score_entries(tables, np.asarray(ml, dtype=np.int32), np.asarray(il, dtype=np.int16),
                            offsets, np.arange(n, dtype=np.int64), reverse, mass_weighted, ratio,
                            at_least)


# ----------------------------------------------------------------------------------
# Weighted cosine
# ----------------------------------------------------------------------------------
def _tolerance(tolerance_da, tolerance_ppm) -> tuple[float, float]:
    if tolerance_ppm is not None and tolerance_ppm > 0:
        return -1.0, float(tolerance_ppm)
    if tolerance_da is not None and tolerance_da > 0:
        return float(tolerance_da), -1.0
    raise SpectrumError("a positive tolerance_da or tolerance_ppm is needed to match peaks")


def _pairs_within(mz_q, mz_r, tol_da, tol_ppm):
    """All (i, j) with |mz_r[j] - mz_q[i]| <= tolerance (ppm of the query m/z)."""
    half = mz_q * tol_ppm * 1e-6 if tol_ppm > 0 else np.full(mz_q.size, tol_da)
    lo = np.searchsorted(mz_r, mz_q - half, side="left")
    hi = np.searchsorted(mz_r, mz_q + half, side="right")
    counts = hi - lo
    i = np.repeat(np.arange(mz_q.size), counts)
    j = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    return i, j


def weighted_cosine(query: PeakList, reference: PeakList, *, mz_power: float | None = None,
                    intensity_power: float | None = None, preset: str | None = "sqrt",
                    tolerance_da: float | None = 0.5, tolerance_ppm: float | None = None,
                    matching: str = "greedy") -> float:
    """Cosine of ``mz**a * I**b`` weighted peak vectors, peaks paired within a tolerance.

    Parameters
    ----------
    query, reference : PeakList
        m/z peak lists.
    mz_power, intensity_power : float, optional
        ``a`` and ``b``; override the preset.
    preset : {"nist_gc", "massbank", "sqrt"} or None
        See :data:`COSINE_PRESETS`.
    tolerance_da, tolerance_ppm : float
        Pairing window (ppm of the query m/z takes precedence when given).
    matching : {"greedy", "optimal"}
        Largest products first, or the assignment maximising the sum.

    Returns
    -------
    float
        0..1.
    """
    a, b = _cosine_powers(preset, mz_power, intensity_power)
    tol_da, tol_ppm = _tolerance(tolerance_da, tolerance_ppm)
    mq, iq = _positive(query)
    mr, ir = _positive(reference)
    if mq.size == 0 or mr.size == 0:
        return 0.0
    wq = mq**a * iq**b
    wr = mr**a * ir**b
    i, j = _pairs_within(mq, mr, tol_da, tol_ppm)
    if i.size == 0:
        return 0.0
    prod = wq[i] * wr[j]
    if matching == "optimal":
        total = _optimal_sum(i, j, prod)
    elif matching == "greedy":
        total = _greedy_sum(i, j, prod)
    else:
        raise ValueError(f"matching must be 'greedy' or 'optimal', not {matching!r}")
    return float(min(1.0, total / (np.sqrt(np.sum(wq * wq)) * np.sqrt(np.sum(wr * wr)))))


def _cosine_powers(preset, mz_power, intensity_power) -> tuple[float, float]:
    if preset is not None and preset not in COSINE_PRESETS:
        raise ValueError(f"unknown cosine preset {preset!r}; known: {sorted(COSINE_PRESETS)}")
    a, b = COSINE_PRESETS[preset] if preset else (0.0, 1.0)
    return (a if mz_power is None else float(mz_power),
            b if intensity_power is None else float(intensity_power))


def _positive(peaks: PeakList) -> tuple[np.ndarray, np.ndarray]:
    keep = peaks.intensity > 0
    return peaks.position[keep], peaks.intensity[keep]


def _greedy_sum(i, j, prod) -> float:
    order = np.lexsort((j, i, -prod))  # ties: lower query then lower reference index first
    used_i, used_j, total = set(), set(), 0.0
    for k in order:
        if i[k] in used_i or j[k] in used_j:
            continue
        used_i.add(i[k])
        used_j.add(j[k])
        total += prod[k]
    return total


def _optimal_sum(i, j, prod) -> float:
    from scipy.optimize import linear_sum_assignment  # only for optimal matching

    ui, ri = np.unique(i, return_inverse=True)
    uj, rj = np.unique(j, return_inverse=True)
    gain = np.zeros((ui.size, uj.size))
    gain[ri, rj] = prod
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return float(gain[rows, cols].sum())


# ----------------------------------------------------------------------------------
# Entropy similarity
# ----------------------------------------------------------------------------------
def clean_for_entropy(mz, intensity, *, tolerance_da: float | None = 0.02,
                      tolerance_ppm: float | None = None,
                      noise_threshold: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Clean a spectrum the way ``ms_entropy.clean_spectrum`` does for a similarity.

    Peaks closer than twice the tolerance are merged (most intense first,
    intensity-weighted m/z, repeated until none are closer), peaks below
    ``noise_threshold`` times the base peak dropped, intensities normalised to
    sum 1.  Computed in float32 like the reference.

    Returns
    -------
    mz, intensity : ndarray of float32
    """
    tol_da, tol_ppm = _tolerance(tolerance_da, tolerance_ppm)
    mz = np.asarray(mz, dtype=np.float32)
    inten = np.asarray(intensity, dtype=np.float32)
    keep = (mz > 0) & (inten > 0)
    mz, inten = mz[keep], inten[keep]
    if mz.size == 0:
        return mz, inten
    order = np.argsort(mz, kind="stable")
    mz, inten = mz[order], inten[order]
    min_da, min_ppm = np.float32(2 * tol_da), np.float32(2 * tol_ppm)
    while _needs_centroid(mz, min_da, min_ppm):
        mz, inten = _centroid_pass(mz, inten, min_da, min_ppm)
    if noise_threshold is not None and noise_threshold > 0:
        keep = inten >= np.float32(noise_threshold) * inten.max()
        mz, inten = mz[keep], inten[keep]
    total = np.float32(0)
    for value in inten:  # sequential float32 sum, as the reference
        total = np.float32(total + value)
    if not total > 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return mz, (inten / total).astype(np.float32)


# The two functions below port ms_entropy's compiled CleanSpectrum.c (v1.5.3) step
# for step -- float32 positions, a descending Lomuto quicksort by intensity whose tie
# order decides which peak absorbs its neighbours, merged peaks left in place while
# the pass goes on -- because any other order gives different centroids.
def _needs_centroid(mz, min_da, min_ppm) -> bool:
    if mz.size <= 1:
        return False
    gaps = (mz[1:] - mz[:-1]).astype(np.float32)
    if min_ppm > 0:
        return bool(np.any(gaps <= (mz[1:].astype(np.float64) * float(min_ppm) * 1e-6)
                           .astype(np.float32)))
    return bool(np.any(gaps <= min_da))


def _lomuto_desc(values) -> list[int]:
    """Argsort by value descending with the reference's quicksort (its tie order)."""
    idx = list(range(len(values)))
    stack = [(0, len(values) - 1)]
    while stack:
        low, high = stack.pop()
        if low >= high:
            continue
        pivot = values[idx[high]]
        i = low - 1
        for j in range(low, high):
            if values[idx[j]] >= pivot:
                i += 1
                idx[i], idx[j] = idx[j], idx[i]
        idx[i + 1], idx[high] = idx[high], idx[i + 1]
        stack.append((i + 2, high))
        stack.append((low, i))
    return idx


def _centroid_pass(mz, inten, min_da, min_ppm):
    mz = mz.astype(np.float32).tolist()
    vals = inten.astype(np.float32).tolist()
    f32 = np.float32
    left = right = float(min_da)
    n = len(mz)
    for idx in _lomuto_desc(vals):
        if min_ppm > 0:
            left = float(f32(mz[idx] * float(min_ppm) * 1e-6))
            right = float(f32(mz[idx] * float(min_ppm) / (1e6 - float(min_ppm))))
        if vals[idx] > 0:
            lo = idx - 1
            while lo >= 0 and float(f32(mz[idx] - mz[lo])) <= left:
                lo -= 1
            hi = idx + 1
            while hi < n and float(f32(mz[hi] - mz[idx])) <= right:
                hi += 1
            total = weighted = 0.0  # double accumulators, as the reference
            for k in range(lo + 1, hi):
                total += vals[k]
                weighted += vals[k] * mz[k]
                vals[k] = 0.0
            mz[idx] = float(f32(weighted / total)) if total > 0 else 0.0
            vals[idx] = float(f32(total))
    mz = np.asarray(mz, np.float32)
    vals = np.asarray(vals, np.float32)
    keep = vals > 0
    order = np.argsort(mz[keep], kind="stable")
    return mz[keep][order], vals[keep][order]


def spectral_entropy(intensity) -> float:
    """Shannon entropy (natural log) of intensities normalised to sum 1."""
    p = np.asarray(intensity, dtype=np.float64)
    p = p[p > 0]
    if p.size == 0:
        return 0.0
    p = p / p.sum()
    return float(-np.sum(p * np.log(p)))


def entropy_weight(intensity) -> np.ndarray:
    """Li et al.'s low-entropy weighting of normalised intensities (float32)."""
    inten = np.asarray(intensity, dtype=np.float32)
    if inten.size == 0:
        return inten
    entropy = -np.sum(inten * np.log(inten))
    if entropy < 3:
        inten = np.power(inten, np.float32(0.25 + 0.25 * entropy))
        inten = inten / np.sum(inten)
    return inten


def entropy_similarity(query: PeakList, reference: PeakList, *, tolerance_da: float | None = 0.02,
                       tolerance_ppm: float | None = None, weighted: bool = True,
                       clean: bool = True, noise_threshold: float = 0.01) -> float:
    """Spectral entropy similarity (Li et al., Nat Methods 2021).

    Parameters
    ----------
    query, reference : PeakList
    tolerance_da, tolerance_ppm : float
        Matching window; ppm (of the query m/z) takes precedence when given.
    weighted : bool
        Apply the low-entropy intensity weighting (the published default).
    clean : bool
        Clean both spectra first (:func:`clean_for_entropy`); turn off only for
        spectra already cleaned with the same tolerance.

    Returns
    -------
    float
        0..1; equals ``ms_entropy.calculate_entropy_similarity`` (weighted) or
        ``calculate_unweighted_entropy_similarity`` within 1e-6.
    """
    tol_da, tol_ppm = _tolerance(tolerance_da, tolerance_ppm)
    if clean:
        mq, iq = clean_for_entropy(query.position, query.intensity, tolerance_da=tolerance_da,
                                   tolerance_ppm=tolerance_ppm, noise_threshold=noise_threshold)
        mr, ir = clean_for_entropy(reference.position, reference.intensity,
                                   tolerance_da=tolerance_da, tolerance_ppm=tolerance_ppm,
                                   noise_threshold=noise_threshold)
    else:
        mq, iq = query.position.astype(np.float32), query.intensity.astype(np.float32)
        mr, ir = reference.position.astype(np.float32), reference.intensity.astype(np.float32)
    if weighted:
        iq, ir = entropy_weight(iq), entropy_weight(ir)
    return entropy_of_matches(mq, iq, mr, ir, tol_da, tol_ppm)


def entropy_of_matches(mq, iq, mr, ir, tol_da, tol_ppm) -> float:
    """Sum of the entropy gains of matched peaks, the two-pointer walk of the reference."""
    if mq.size == 0 or mr.size == 0:
        return 0.0
    a = b = 0
    total = 0.0
    while a < mq.size and b < mr.size:
        allowed = mq[a] * tol_ppm * 1e-6 if tol_ppm > 0 else tol_da
        diff = mq[a] - mr[b]
        if diff < -allowed:
            a += 1
        elif diff > allowed:
            b += 1
        else:
            total += entropy_gain(float(iq[a]), float(ir[b]))
            a += 1
            b += 1
    return total / 2


def entropy_gain(x, y):
    """``f(x+y) - f(x) - f(y)`` with ``f(v) = v log2 v`` (vectorised)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = x + y
    return s * np.log2(s) - x * np.log2(x) - y * np.log2(y)
