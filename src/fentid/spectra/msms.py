"""MS/MS spectrum cleaning as the spectral entropy / cosine literature does it.

Li, Y. et al. "Spectral entropy outperforms MS/MS dot product similarity for
small-molecule compound identification", Nat. Methods 18 (2021) 1524-1531,
and the ``ms_entropy`` package (``clean_spectrum``) define the steps used
here, in this order:

1. drop non-positive m/z and intensities, and peaks below ``min_mz``;
2. drop the precursor region: every peak with m/z > precursor - 1.6 Da
   (unfragmented precursor and its isotopes say nothing about structure);
3. centroid: merge peaks closer than ``merge_tolerance_da`` (0.05 Da), the
   most intense first, keeping the intensity-weighted m/z and summed
   intensity;
4. noise cut: drop peaks below ``noise_fraction`` (1 %) of the base peak;
5. normalise (sum to 1 for entropy, or base peak to 999).

A test checks that :func:`clean_arrays` equals ``ms_entropy.clean_spectrum``
on real MassBank spectra.
"""

from __future__ import annotations

import numpy as np

from fentid.errors import ProcessingError
from fentid.spectra.model import PeakList, Spectrum

#: Peaks at m/z > precursor - this are removed (Li et al. 2021).
PRECURSOR_WINDOW_DA = 1.6


def clean_arrays(mz, intensity, *, precursor_mz: float | None = None,
                 precursor_window_da: float = PRECURSOR_WINDOW_DA,
                 noise_fraction: float = 0.01, merge_tolerance_da: float = 0.05,
                 min_mz: float = 0.0, normalize: str | None = None):
    """Clean one centroided MS/MS spectrum given as arrays.

    Parameters
    ----------
    mz, intensity : array_like of float, shape (n,)
        Centroided peaks in any order.
    precursor_mz : float, optional
        Precursor m/z; when given, peaks at m/z > precursor_mz -
        ``precursor_window_da`` are removed.
    precursor_window_da : float
        Width of the removed precursor region below the precursor, in Da.
    noise_fraction : float
        Peaks below this fraction of the base peak are removed (0 keeps all).
    merge_tolerance_da : float
        Peaks closer than this (Da) are merged; 0 disables merging.
    min_mz : float
        Peaks below this m/z are removed (0: none).
    normalize : {None, "sum", "base"}
        None keeps intensities; "sum" scales to sum 1; "base" to base peak 999.

    Returns
    -------
    mz, intensity : ndarray of float64
        Ascending m/z.
    """
    mz = np.asarray(mz, dtype=np.float64).ravel()
    inten = np.asarray(intensity, dtype=np.float64).ravel()
    if mz.shape != inten.shape:
        raise ProcessingError(f"{mz.size} m/z values but {inten.size} intensities")
    keep = (inten > 0) & (mz > 0) & np.isfinite(mz) & np.isfinite(inten)
    if min_mz > 0:
        keep &= mz >= min_mz
    if precursor_mz is not None and np.isfinite(precursor_mz) and precursor_mz > 0:
        keep &= mz <= float(precursor_mz) - precursor_window_da
    mz, inten = mz[keep], inten[keep]
    order = np.argsort(mz, kind="stable")
    mz, inten = mz[order], inten[order]
    if merge_tolerance_da > 0 and mz.size > 1 and np.min(np.diff(mz)) < merge_tolerance_da:
        mz, inten = _merge_close(mz, inten, merge_tolerance_da)
    if noise_fraction > 0 and inten.size:
        keep = inten >= noise_fraction * inten.max()
        mz, inten = mz[keep], inten[keep]
    if normalize == "sum" and inten.size:
        inten = inten / inten.sum()
    elif normalize == "base" and inten.size:
        inten = inten / inten.max() * 999.0
    elif normalize not in (None, "sum", "base"):
        raise ProcessingError(f"normalize must be None, 'sum' or 'base', not {normalize!r}")
    return mz, inten


def _merge_close(mz: np.ndarray, inten: np.ndarray, tol: float):
    """Greedy merge, strongest peak first, of peaks within +-``tol`` inclusive (ms_entropy).

    Repeats until no two peaks are closer than ``tol``, as ms_entropy does.
    """
    while mz.size > 1 and np.min(np.diff(mz)) < tol:
        taken = np.zeros(mz.size, bool)
        new_mz, new_int = [], []
        # strongest first, ties in the order ms_entropy visits them
        for i in np.argsort(inten)[::-1]:
            if taken[i]:
                continue
            lo = np.searchsorted(mz, mz[i] - tol, side="left")
            hi = np.searchsorted(mz, mz[i] + tol, side="right")
            idx = np.arange(lo, hi)
            idx = idx[~taken[idx]]
            taken[idx] = True
            w = inten[idx]
            new_mz.append(float((mz[idx] * w).sum() / w.sum()))
            new_int.append(float(w.sum()))
        order = np.argsort(new_mz, kind="stable")
        mz, inten = np.asarray(new_mz)[order], np.asarray(new_int)[order]
    return mz, inten


def clean_msms(spectrum: Spectrum, *, precursor_window_da: float = PRECURSOR_WINDOW_DA,
               noise_fraction: float = 0.01, merge_tolerance_da: float = 0.05,
               normalize: str | None = "base") -> PeakList:
    """Clean an MS/MS Spectrum into a PeakList (steps in the module docstring).

    The precursor comes from ``spectrum.metadata["precursor_mz"]`` (no
    precursor: no precursor-region removal).

    Returns
    -------
    PeakList
        unit "m/z", technique "ms"; base peak 999 by default.
    """
    if spectrum.technique != "ms":
        raise ProcessingError("clean_msms needs an MS spectrum")
    precursor = spectrum.metadata.get("precursor_mz")
    mz, inten = clean_arrays(spectrum.axis, spectrum.intensities, precursor_mz=precursor,
                             precursor_window_da=precursor_window_da,
                             noise_fraction=noise_fraction,
                             merge_tolerance_da=merge_tolerance_da, normalize=normalize)
    params = {"precursor_window_da": precursor_window_da, "noise_fraction": noise_fraction,
              "merge_tolerance_da": merge_tolerance_da, "normalize": normalize}
    return PeakList(mz, inten, unit="m/z", technique="ms", metadata=dict(spectrum.metadata),
                    provenance=spectrum.provenance.with_step("clean_msms", params))
