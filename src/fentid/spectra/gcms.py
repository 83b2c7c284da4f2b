"""GC-MS runs to component spectra, and single MS spectra to library-ready peak lists.

:func:`extract_components` is what ``fentid peaks RUN`` and identification use:

1. centroid profile scans (:func:`~fentid.spectra.chromatography.centroid_arrays`);
2. bin to nominal mass, NIST/AMDIS boundary 0.649
   (:func:`~fentid.spectra.chromatography.nominal_matrix`);
3. estimate each ion's noise (MAD of scan-to-scan differences);
4. subtract each ion's slowly varying background (morphological opening,
   ``baseline_window_s`` wide, separately in each time segment of the
   method, found where the TIC jumps) and remove column-bleed ions (siloxane
   73/207/281/355/429 whose signal is mostly background);
5. find components where ions peak together and at TIC peaks, and separate
   co-eluting compounds by model-peak deconvolution
   (:mod:`~fentid.spectra.deconvolution`);
6. each component spectrum is normalised to base peak **999** (the NIST
   convention, so MSP exports and NIST-style match factors line up).

Units: retention times in seconds; ``area`` is the component's total ion
current integrated over time (intensity x s, trapezoid rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fentid.errors import ProcessingError
from fentid.spectra import chromatography as chrom
from fentid.spectra import deconvolution as deconv
from fentid.spectra.centroid import MIN_SCANS
from fentid.spectra.model import PeakList, Run, Spectrum
from fentid.spectra.ms_peaks import (  # noqa: F401 (spectrum_to_peaks, is_unit_resolution re-exported)
    BASE_PEAK,
    is_unit_resolution,
    spectrum_to_peaks,
)


@dataclass(frozen=True)
class GcmsComponent:
    """One deconvoluted component of a GC/LC-MS run.

    Attributes
    ----------
    retention_time_s : float
        Apex of the model peak, interpolated between scans, in seconds.
    area : float
        Integrated total ion current of the component (intensity x s).
    peaks : PeakList
        Nominal-mass spectrum, unit "m/z", technique "ms", base peak 999.
    scan : int
        Apex scan index in the run.
    model_mz : int or None
        Nominal mass of the model ion (None when the TIC served as model).
    start_s, stop_s : float
        Extent of the model peak in seconds.
    """

    retention_time_s: float
    area: float
    peaks: PeakList
    scan: int
    model_mz: int | None = None
    start_s: float = float("nan")
    stop_s: float = float("nan")
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Prepared:
    rt: np.ndarray
    masses: np.ndarray
    corrected: np.ndarray
    smoothed: np.ndarray
    noise: np.ndarray
    removed_bleed: tuple


def _scan_interval(rt: np.ndarray) -> float:
    steps = np.diff(rt)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 1.0


def prepare(run: Run, mz_boundary: float = chrom.NOMINAL_BOUNDARY,
            baseline_window_s: float = 30.0, remove_bleed: bool = True) -> _Prepared:
    """Steps 1-4: centroid, nominal matrix, noise, baseline and bleed removal."""
    offsets, mz, inten = run.offsets, run.mz, run.intensity
    if not run.centroided:
        offsets, mz, inten = chrom.centroid_arrays(offsets, mz, inten)
    masses, matrix = chrom.nominal_matrix(offsets, mz, inten, mz_boundary)
    rt = np.asarray(run.retention_time_s, dtype=np.float64)
    window = round(baseline_window_s / _scan_interval(rt))
    # a level change must hold for half a baseline window: peaks are narrower
    breaks = chrom.segment_breaks(matrix.sum(axis=1), run_scans=max(5, window // 2))
    background = chrom.segmented_baseline(matrix, window, breaks)
    removed: tuple = ()
    if remove_bleed and masses.size:
        bleed = chrom.bleed_columns(masses, matrix, background)
        removed = tuple(int(m) for m in masses[bleed])
        matrix = matrix[:, ~bleed]
        background = background[:, ~bleed]
        masses = masses[~bleed]
    corrected = matrix - background
    noise = chrom.noise_sd(corrected)
    return _Prepared(rt, masses, corrected, deconv.smooth(corrected), noise, removed)


def extract_components(run: Run, *, mz_boundary: float = chrom.NOMINAL_BOUNDARY,
                       baseline_window_s: float = 30.0, max_peak_half_width_s: float = 15.0,
                       ion_snr: float = 5.0, tic_snr: float = 10.0,
                       component_snr: float = 10.0, min_ions: int = 3,
                       min_relative_intensity: float = 0.002, merge_correlation: float = 0.98,
                       remove_bleed: bool = True) -> list[GcmsComponent]:
    """Deconvolute a GC/LC-MS run into component spectra.

    Parameters
    ----------
    run : Run
        MS1 scans (profile or centroided).
    mz_boundary : float
        Nominal-mass bin boundary (0.649, NIST/AMDIS).
    baseline_window_s : float
        Background estimation window in seconds; wider than the widest peak.
    max_peak_half_width_s : float
        Longest a model peak extends either side of its apex, in seconds.
    ion_snr : float
        An EIC apex counts when above this multiple of the ion's noise.
    tic_snr : float
        TIC peaks with prominence above this multiple of the TIC noise always
        get a component.
    component_snr : float
        A component's model ion must peak above this multiple of its noise
        (drops the noise-level components that thresholded quadrupole data
        otherwise yield by the hundred).
    min_ions : int
        Ions that must peak together to propose a component (capped at the
        number of masses in the run, so SIM runs work).
    min_relative_intensity : float
        Ions weaker than this fraction of the component's base peak are dropped.
    merge_correlation : float
        Neighbouring model peaks whose shapes correlate above this are one compound.
    remove_bleed : bool
        Drop siloxane bleed ions that track the baseline.

    Returns
    -------
    list of GcmsComponent
        Sorted by retention time. MS/MS scans in the run are ignored. A run
        of fewer than :data:`MIN_SCANS` MS1 scans has no chromatography to
        speak of: each scan becomes one component (its spectrum through
        :func:`spectrum_to_peaks`, ``area`` = the scan's total intensity).

    Raises
    ------
    ProcessingError
        The run has no MS1 scans.
    """
    run = ms1_scans(run)
    if run.n_scans < MIN_SCANS:
        return [_scan_component(run, i) for i in range(run.n_scans)]
    prep = prepare(run, mz_boundary, baseline_window_s, remove_bleed)
    if prep.masses.size == 0:
        return []
    interval = _scan_interval(prep.rt)
    half_width = max(2, round(max_peak_half_width_s / interval))
    tic = prep.corrected.sum(axis=1)
    tic_noise = float(chrom.noise_sd(tic[:, None])[0])
    scans, cols = deconv.ion_apexes(prep.corrected, prep.smoothed, prep.noise, ion_snr)
    need = max(1, min(min_ions, prep.masses.size))
    candidates = deconv.candidate_scans(scans, prep.rt.size, deconv.smooth(tic[:, None])[:, 0],
                                        tic_noise, need, tic_snr)
    models = deconv.build_models(prep.corrected, prep.smoothed, prep.noise, candidates,
                                 scans, cols, tic, half_width, merge_correlation,
                                 min_snr=component_snr)
    models = [m for m in models if _model_snr(m, prep, tic, tic_noise) >= component_snr]
    components = []
    for k, model in enumerate(models):
        abundance = deconv.fit_model(prep.corrected, models, k)
        comp = _component(run, prep, model, abundance, ion_snr, min_relative_intensity, need)
        if comp is not None:
            components.append(comp)
    components.sort(key=lambda c: c.retention_time_s)
    return components


def ms1_scans(run: Run) -> Run:
    """The MS1 scans of ``run`` (all of it when it has no MS/MS scans)."""
    ms1 = np.asarray(run.ms_level) == 1
    if ms1.all():
        return run
    if not ms1.any():
        raise ProcessingError("the run has only MS/MS scans; component extraction needs MS1 "
                              "(clean MS/MS spectra with fentid.spectra.msms.clean_msms)")
    counts = np.diff(run.offsets)[ms1]
    point = np.repeat(ms1, np.diff(run.offsets))
    return run.replace(retention_time_s=run.retention_time_s[ms1],
                       offsets=np.r_[0, np.cumsum(counts)], mz=run.mz[point],
                       intensity=run.intensity[point], ms_level=run.ms_level[ms1],
                       precursor_mz=run.precursor_mz[ms1])


def _scan_component(run: Run, i: int) -> GcmsComponent:
    """One scan of a very short run as a component."""
    mz, inten = run.scan(i)
    rt = float(run.retention_time_s[i])
    spectrum = Spectrum(mz, inten, unit="m/z", technique="ms", centroided=run.centroided,
                        metadata={**dict(run.metadata), **run_context(run),
                                  "retention_time_s": rt, "ms_level": 1},
                        provenance=run.provenance)
    return GcmsComponent(retention_time_s=rt, area=float(inten.sum()),
                         peaks=spectrum_to_peaks(spectrum), scan=i, start_s=rt, stop_s=rt)


def _model_snr(model: deconv.ModelPeak, prep: _Prepared, tic: np.ndarray,
               tic_noise: float) -> float:
    if model.column < 0:
        return float(tic[model.apex] / tic_noise)
    return float(prep.smoothed[model.apex, model.column] / prep.noise[model.column])


def _component(run: Run, prep: _Prepared, model: deconv.ModelPeak, abundance: np.ndarray,
               ion_snr: float, min_relative: float, min_ions: int) -> GcmsComponent | None:
    keep = abundance > ion_snr * prep.noise / 2
    if not keep.any():
        return None
    keep &= abundance >= min_relative * abundance[keep].max()
    if int(keep.sum()) < min_ions:
        return None
    t = prep.rt[model.start:model.stop]
    shape_area = float(np.trapezoid(model.shape, t)) if t.size > 1 else 0.0
    area = float(abundance[keep].sum()) * shape_area
    rt_apex = _interpolated_apex(prep.rt, model)
    inten = abundance[keep] / abundance[keep].max() * BASE_PEAK
    peaks = PeakList(prep.masses[keep].astype(np.float64), inten, unit="m/z", technique="ms",
                     metadata={**run_context(run), "retention_time_s": rt_apex, "ms_level": 1,
                               "normalization": "base peak 999",
                               "removed_bleed_ions": list(prep.removed_bleed)},
                     provenance=run.provenance.with_step("extract_components", {
                         "retention_time_s": round(rt_apex, 4)}))
    return GcmsComponent(retention_time_s=rt_apex, area=area, peaks=peaks, scan=model.apex,
                         model_mz=None if model.column < 0 else int(prep.masses[model.column]),
                         start_s=float(prep.rt[model.start]),
                         stop_s=float(prep.rt[model.stop - 1]))


def _interpolated_apex(rt: np.ndarray, model: deconv.ModelPeak) -> float:
    """Parabolic interpolation of the model apex between scans, in seconds."""
    i = model.apex - model.start
    s = model.shape
    if 0 < i < s.size - 1:
        denom = s[i - 1] - 2 * s[i] + s[i + 1]
        delta = 0.5 * (s[i - 1] - s[i + 1]) / denom if denom < 0 else 0.0
        delta = float(np.clip(delta, -0.5, 0.5))
        j = model.apex
        step = rt[j + 1] - rt[j] if delta > 0 else rt[j] - rt[j - 1]
        return float(rt[j] + delta * step)
    return float(rt[model.apex])


# --- single spectra ---------------------------------------------------------------------

#: Run metadata a component keeps: what the conclusion needs to know about its acquisition.
RUN_CONTEXT_KEYS = ("ionization", "ionization_raw", "polarity", "instrument", "scan_range_mz")


def scan_range_mz(run: Run) -> tuple[float, float] | None:
    """The m/z range the instrument scanned, (low, high) in m/z.

    The driver's ``scan_range_mz`` when the file records it (ANDI ``mass_range_min/max``,
    mzML scan windows); else the lowest and highest m/z seen in any scan, a lower bound of
    the scanned range (a scan range is never narrower than what was detected).  None for an
    empty run.
    """
    stated = run.metadata.get("scan_range_mz")
    if stated is not None and len(stated) == 2:
        return float(stated[0]), float(stated[1])
    if run.mz.size == 0:
        return None
    return float(run.mz.min()), float(run.mz.max())


def run_context(run: Run) -> dict:
    """Acquisition facts a component carries from its run (ionization, scan range, ...).

    ``scan_range_source`` says whether the range was recorded by the file (``"file"``) or
    inferred from the detected ions (``"observed"``).
    """
    out = {k: run.metadata[k] for k in RUN_CONTEXT_KEYS if run.metadata.get(k) is not None}
    rng = scan_range_mz(run)
    if rng is not None:
        out["scan_range_mz"] = rng
        out["scan_range_source"] = "file" if run.metadata.get("scan_range_mz") else "observed"
    return out


