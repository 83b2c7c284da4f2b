"""Model-peak deconvolution of GC-MS data, in the spirit of AMDIS.

The steps, on a baseline-corrected (scans x nominal masses) matrix:

1. **Ion apexes.** Every extracted-ion chromatogram (EIC) is lightly
   smoothed and its local maxima above ``ion_snr`` x its noise are listed.
2. **Candidate components.** Scans where at least ``min_ions`` ions peak
   together (within one scan) are candidates, as are the apexes of TIC peaks
   (so no TIC peak is left without a component).
3. **Model peaks.** For each candidate, among the ions peaking there with
   at least 30 % of the strongest one's height, the *sharpest* (narrowest
   at half height) is the model ion: an ion shared with a co-eluting
   compound is broadened by it, a unique ion is not (Stein 1999, AMDIS).
   The model ion's EIC between the points where it falls to 5 % (or starts
   to rise again) is the model peak shape. Near-identical shapes
   (correlation > ``merge_correlation``) are one compound and are merged.
4. **Fit.** Over each model peak's extent, every ion's EIC is fitted by
   least squares as a non-negative sum of that model's shape, the shapes of
   the models overlapping it, and a constant (local background). An ion's
   coefficient on the model shape is its abundance in that component.

Reference: S. E. Stein, "An integrated method for spectrum extraction and
compound identification from GC/MS data", J. Am. Soc. Mass Spectrom. 10
(1999) 770-781.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from fentid.spectra.chromatography import find_chromatographic_peaks, local_maxima


@dataclass
class ModelPeak:
    """One model peak: the model ion's EIC shape over ``[start, stop)`` scans."""

    apex: int
    start: int
    stop: int
    column: int
    shape: np.ndarray  # normalised to max 1, length stop - start


def ion_apexes(corrected: np.ndarray, smoothed: np.ndarray, noise: np.ndarray,
               ion_snr: float):
    """EIC apexes above ``ion_snr`` x noise: (scans, columns) arrays.

    An apex also needs the raw EIC above its noise on both neighbouring scans:
    a one-scan spike (common in thresholded quadrupole data, where most ions
    are zero most of the time) is not a chromatographic peak.
    """
    scans, cols = local_maxima(smoothed, ion_snr * noise)
    if scans.size == 0:
        return scans, cols
    last = corrected.shape[0] - 1
    above = corrected > noise[None, :]
    wide = (above[scans - 1, cols] & above[scans, cols]
            & above[np.minimum(scans + 1, last), cols])
    return scans[wide], cols[wide]


def candidate_scans(apex_scans: np.ndarray, n_scans: int, tic: np.ndarray, tic_noise: float,
                    min_ions: int, tic_snr: float) -> np.ndarray:
    """Scans where at least ``min_ions`` ions peak together, plus TIC peak apexes.

    Returns
    -------
    ndarray of int, ascending, no two closer than 2 scans (the TIC apex is
    dropped when an ion-apex candidate lies within 2 scans of it).
    """
    counts = np.bincount(apex_scans, minlength=n_scans).astype(np.float64)
    # one-scan jitter of apexes between ions of the same compound
    pooled = counts + 0.5 * (np.r_[0.0, counts[:-1]] + np.r_[counts[1:], 0.0])
    grouped, _ = _plateau_peaks(pooled, min_ions)
    tic_peaks = find_chromatographic_peaks(tic, tic_noise, snr=tic_snr)
    extra = [p for p in tic_peaks if grouped.size == 0
             or np.min(np.abs(grouped - p)) > 2]
    return np.unique(np.r_[grouped, np.asarray(extra, dtype=np.int64)])


def _plateau_peaks(values: np.ndarray, height: float):
    from scipy.signal import find_peaks

    padded = np.r_[0.0, values, 0.0]
    peaks, props = find_peaks(padded, height=height, distance=2)
    return peaks - 1, props


def half_height_widths(block: np.ndarray, apex_row: int) -> np.ndarray:
    """Width at half height (in scans) of each column of ``block`` around ``apex_row``."""
    heights = block[apex_row]
    above = block >= 0.5 * heights[None, :]
    right = above[apex_row:]
    left = above[apex_row::-1]
    n_right = np.where(right.all(axis=0), right.shape[0], np.argmin(right, axis=0))
    n_left = np.where(left.all(axis=0), left.shape[0], np.argmin(left, axis=0))
    return n_right + n_left - 1


def choose_model(smoothed: np.ndarray, candidate: int, members: np.ndarray,
                 half_window: int) -> int:
    """Column of the sharpest abundant ion among ``members`` peaking at ``candidate``."""
    lo = max(0, candidate - half_window)
    block = smoothed[lo:candidate + half_window + 1, members]
    heights = smoothed[candidate, members]
    strong = heights >= 0.3 * heights.max()
    widths = half_height_widths(block[:, strong], candidate - lo)
    cols = members[strong]
    order = np.lexsort((-heights[strong], widths))
    return int(cols[order[0]])


def model_extent(trace: np.ndarray, apex: int, noise: float, max_half_width: int,
                 floor_fraction: float = 0.05) -> tuple[int, int]:
    """[start, stop) of a model peak: walk out until 5 % of apex or a rise above noise."""
    n = trace.size
    height = trace[apex]
    limit = max(floor_fraction * height, noise)
    start = apex
    while (start > 0 and apex - start < max_half_width and trace[start - 1] > limit
           and trace[start - 1] <= trace[start] + 2 * noise):
        start -= 1
    stop = apex
    while (stop < n - 1 and stop - apex < max_half_width and trace[stop + 1] > limit
           and trace[stop + 1] <= trace[stop] + 2 * noise):
        stop += 1
    return start, stop + 1


def build_models(corrected: np.ndarray, smoothed: np.ndarray, noise: np.ndarray,
                 candidates: np.ndarray, apex_scans: np.ndarray, apex_cols: np.ndarray,
                 tic: np.ndarray, max_half_width: int, merge_correlation: float,
                 min_snr: float = 0.0) -> list[ModelPeak]:
    """One model peak per candidate (see module docstring, step 3).

    Candidates whose strongest co-peaking ion stays below ``min_snr`` x its
    noise are skipped before the (costlier) model choice.
    """
    models: list[ModelPeak] = []
    if candidates.size == 0:
        return models
    # each ion apex belongs to the nearest candidate within one scan (two for TIC-only)
    nearest = np.searchsorted(candidates, apex_scans)
    left = candidates[np.clip(nearest - 1, 0, candidates.size - 1)]
    right = candidates[np.clip(nearest, 0, candidates.size - 1)]
    owner = np.where(np.abs(apex_scans - left) <= np.abs(right - apex_scans), left, right)
    close = np.abs(owner - apex_scans) <= 1
    for cand in candidates:
        members = np.unique(apex_cols[close & (owner == cand)])
        if members.size and np.max(smoothed[cand, members] / noise[members]) < min_snr:
            continue
        if members.size:
            col = choose_model(smoothed, int(cand), members, max_half_width)
            trace = smoothed[:, col]
            apex = int(cand)
            # the model ion's own apex may sit one scan off the candidate
            window = trace[max(0, apex - 1):apex + 2]
            apex = max(0, apex - 1) + int(np.argmax(window))
            start, stop = model_extent(trace, apex, noise[col], max_half_width)
            shape = np.clip(corrected[start:stop, col], 0.0, None)
        else:  # a TIC peak without co-peaking ions: the TIC is the model
            col, apex = -1, int(cand)
            start, stop = model_extent(tic, apex, 0.0, max_half_width)
            shape = np.clip(tic[start:stop], 0.0, None)
        if shape.max() <= 0 or stop - start < 2:
            continue
        models.append(ModelPeak(apex, start, stop, col, shape / shape.max()))
    return _merge_duplicates(models, merge_correlation)


def _merge_duplicates(models: list[ModelPeak], threshold: float) -> list[ModelPeak]:
    """Drop a model whose shape correlates > ``threshold`` with a neighbour's (same compound)."""
    kept: list[ModelPeak] = []
    for m in sorted(models, key=lambda m: m.apex):
        if kept and _same_compound(kept[-1], m, threshold):
            if m.shape.size > kept[-1].shape.size:
                kept[-1] = m
            continue
        kept.append(m)
    return kept


def _same_compound(a: ModelPeak, b: ModelPeak, threshold: float) -> bool:
    if b.start >= a.stop or abs(a.apex - b.apex) > max(a.stop - a.start, 2):
        return False
    lo, hi = min(a.start, b.start), max(a.stop, b.stop)
    va, vb = np.zeros(hi - lo), np.zeros(hi - lo)
    va[a.start - lo:a.stop - lo] = a.shape
    vb[b.start - lo:b.stop - lo] = b.shape
    denom = np.linalg.norm(va) * np.linalg.norm(vb)
    return denom > 0 and float(va @ vb) / denom > threshold


def neighbours(models: list[ModelPeak], k: int, max_models: int = 4) -> list[int]:
    """Model ``k`` and the nearest models (by apex) overlapping its extent, at most
    ``max_models`` in all, so that every fit stays small."""
    m = models[k]
    near = [j for j, o in enumerate(models) if j != k and o.start < m.stop and m.start < o.stop]
    near.sort(key=lambda j: abs(models[j].apex - m.apex))
    return [k, *near[:max_models - 1]]


def fit_model(corrected: np.ndarray, models: list[ModelPeak], k: int) -> np.ndarray:
    """Apex abundance of every ion in component ``k`` (>= 0), shape (n_columns,).

    Over model ``k``'s extent each ion's EIC is fitted as a non-negative sum of
    the shapes of model ``k`` and of every model overlapping it, plus a
    constant (background left after baseline correction). Fitting locally
    per model keeps every problem small however long a chain of co-eluting
    peaks is (LC runs chain dozens).
    """
    model = models[k]
    lo, hi = model.start, model.stop
    members = [models[j] for j in neighbours(models, k)]
    design = np.zeros((hi - lo, len(members) + 1))
    for i, m in enumerate(members):
        a, b = max(m.start, lo), min(m.stop, hi)
        design[a - lo:b - lo, i] = m.shape[a - m.start:b - m.start]
    design[:, -1] = 1.0
    coef = nonnegative_lstsq(design, corrected[lo:hi])
    return coef[0]


def nonnegative_lstsq(design: np.ndarray, block: np.ndarray, max_iter: int = 8) -> np.ndarray:
    """Least squares with coefficients >= 0 for many right-hand sides at once.

    An active-set iteration vectorised over columns: solve unconstrained, pin
    negative coefficients to zero, and refit each distinct set of free
    variables once for all columns that share it (with a handful of model
    peaks there are only a few sets). Equals ``scipy.optimize.nnls`` when the
    positive set does not change after pinning (tested against it).

    Parameters
    ----------
    design : ndarray, shape (n_points, n_vars)
    block : ndarray, shape (n_points, n_columns)

    Returns
    -------
    ndarray, shape (n_vars, n_columns)
    """
    n_vars = design.shape[1]
    # the design is tiny (points x a few shapes): one pseudo-inverse per variable set
    # and a matrix product are much cheaper than lstsq on hundreds of right-hand sides
    coef = np.linalg.pinv(design) @ block
    free = np.ones_like(coef, dtype=bool)
    weights = 1 << np.arange(n_vars)
    for _ in range(max_iter):
        negative = free & (coef < 0)
        if not negative.any():
            break
        free &= ~negative
        cols = np.flatnonzero(negative.any(axis=0))
        codes = weights @ free[:, cols]
        for code in np.unique(codes):
            these = cols[codes == code]
            pattern = (int(code) & weights) > 0
            coef[:, these] = 0.0
            if pattern.any():
                sub = np.linalg.pinv(design[:, pattern]) @ block[:, these]
                coef[np.flatnonzero(pattern)[:, None], these[None, :]] = sub
    if (coef < 0).any():  # rare: fall back to the exact solver for what is left
        for j in np.flatnonzero((coef < 0).any(axis=0)):
            coef[:, j] = optimize.nnls(design, block[:, j])[0]
    return coef[:n_vars]


def smooth(matrix: np.ndarray, points: int = 3) -> np.ndarray:
    """Moving average along scans (reduces apex jitter; 3 points keeps narrow GC peaks)."""
    return ndimage.uniform_filter1d(matrix, points, axis=0, mode="nearest")
