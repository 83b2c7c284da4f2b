"""NMR processing: FID to a phased, baseline-corrected, referenced spectrum.

Functions take an object and keyword parameters with units in their names
and return a new object (``evolve`` records the step in the provenance):

``Fid -> Fid``            :func:`remove_group_delay`, :func:`apodize`, :func:`zero_fill`
``Fid -> ComplexSpectrum`` :func:`fourier_transform`
``ComplexSpectrum -> ComplexSpectrum`` :func:`phase_correct`
``ComplexSpectrum -> Spectrum`` :func:`real_part`
``Spectrum -> Spectrum``  :func:`baseline_correct`, :func:`reference`

:func:`to_spectrum` runs a pipeline (a tuple of ``(function, params)`` in the
order written) from a Fid; :func:`process_default` is the standard one that
identification uses.  Axes are ascending ppm; phases follow TopSpin's
convention (see :func:`fentid.spectra.nmr_phase.phase_factor`).

What drivers hand to processing (contract for every NMR driver):

- ``Fid.data``: complex points such that ``fftshift(fft(data))`` runs from low
  to high frequency (Bruker's convention; a vendor with the opposite sign
  conjugates on reading).  ``Fid.carrier_ppm``: ppm of the carrier on the
  spectrometer's own scale; ``Fid.group_delay``: digital-filter delay, points.
- ``metadata["vendor_phase_deg"] = {"p0": .., "p1": ..}``: phases in TopSpin's
  convention, used as the seed of automatic phasing (a wrong seed is refined).
- ``metadata["vendor_reference"]``: ``{"sf_mhz", "bf_mhz"}`` (frequency of
  0 ppm, Bruker ``SF``) or ``{"shift_ppm"}``; or ``metadata["referenced"] =
  "vendor"`` when the carrier or axis is already referenced.
- ``metadata["solvent"]``: for residual-solvent referencing when nothing else applies.
- ``metadata["carrier_known"] = False`` when the file does not place the
  carrier (``carrier_ppm`` is then 0): referencing looks for an internal
  standard singlet over the whole spectrum (see :mod:`nmr_reference`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from fentid.errors import DataQualityWarning, ProcessingError, SpectrumError
from fentid.spectra.model import Fid, Provenance, Spectrum
from fentid.spectra.nmr_baseline import baseline_correct
from fentid.spectra.nmr_phase import auto_phase, phase_factor
from fentid.spectra.nmr_reference import reference

__all__ = ["ComplexSpectrum", "apodize", "baseline_correct", "default_pipeline",
           "fourier_transform", "phase_correct", "process_default", "real_part", "reference",
           "remove_group_delay", "run_pipeline", "to_spectrum", "zero_fill"]


@dataclass(frozen=True, eq=False)
class ComplexSpectrum:
    """A complex NMR spectrum between the Fourier transform and phasing.

    Attributes
    ----------
    axis : ndarray of float64, shape (n,)
        Ascending ppm (unreferenced until :func:`reference`).
    data : ndarray of complex128, shape (n,)
    nucleus : str
    obs_mhz : float
        Observe frequency, MHz (converts ppm to Hz).
    metadata : mapping
        Carried over from the Fid (vendor phases, vendor reference...).
    provenance : Provenance
    """

    axis: np.ndarray
    data: np.ndarray
    nucleus: str
    obs_mhz: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self):
        axis = np.array(self.axis, dtype=np.float64)
        data = np.array(self.data, dtype=np.complex128)
        if axis.shape != data.shape or axis.ndim != 1:
            raise SpectrumError("axis and data must be 1-D and of equal length")
        axis.setflags(write=False)
        data.setflags(write=False)
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def evolve(self, step: str, params: Mapping[str, Any] | None = None, **changes):
        """Return a copy with ``changes`` and ``step`` appended to the provenance."""
        prov = self.provenance.with_step(step, params)
        return dataclasses.replace(self, provenance=prov, **changes)

    def __len__(self) -> int:
        return self.axis.size


def _require_1d(fid: Fid, what: str) -> None:
    if fid.ndim != 1:
        raise ProcessingError(f"{what} handles 1-D FIDs; this one has {fid.ndim} dimensions",
                              fid.provenance.source or None)


# --- time domain --------------------------------------------------------------------

def remove_group_delay(fid: Fid) -> Fid:
    """Remove the digital-filter group delay (Bruker DSP) from an FID.

    A delay of ``g`` points is a linear phase ``exp(2 pi i g k / n)`` across the
    spectrum; it is applied in the frequency domain and transformed back, so
    the FID is shifted left by ``g`` points with its first points (the
    filter's response before t = 0) wrapped to the end.  That wrap is where
    negative times belong in a discrete transform, so nothing is truncated;
    but it must come *after* :func:`zero_fill`, otherwise zero filling would
    put those points in the middle of the FID and distort the baseline.
    (Zeroing them instead, as nmrglue's ``rm_dig_filter`` does, bends the
    baseline at both spectrum edges.)

    Parameters
    ----------
    fid : Fid
        1-D FID; ``fid.group_delay`` in points.

    Returns
    -------
    Fid
        Same length, ``group_delay == 0``.
    """
    _require_1d(fid, "remove_group_delay")
    g = fid.group_delay
    if g == 0:
        return fid.evolve("remove_group_delay", {"group_delay_points": 0.0})
    n = fid.points
    k = np.fft.fftfreq(n) * n
    data = np.fft.ifft(np.fft.fft(fid.data) * np.exp(2j * np.pi * g * k / n))
    return fid.evolve("remove_group_delay", {"group_delay_points": g},
                      data=data, group_delay=0.0)


def apodize(fid: Fid, *, lb_hz: float = 0.0, gauss_hz: float = 0.0) -> Fid:
    """Multiply the FID by a window: exponential and/or Gaussian line broadening.

    Parameters
    ----------
    fid : Fid
    lb_hz : float
        Exponential (Lorentzian) line broadening in Hz: ``exp(-pi lb t)``.
    gauss_hz : float
        Gaussian broadening in Hz (FWHM added): ``exp(-(pi g t)^2 / (4 ln 2))``.
    """
    t = np.arange(fid.points) / fid.sw_hz
    window = np.ones(fid.points)
    if lb_hz:
        window *= np.exp(-np.pi * lb_hz * t)
    if gauss_hz:
        window *= np.exp(-((np.pi * gauss_hz * t) ** 2) / (4 * np.log(2)))
    # the noise estimate needs the smoothing width (nmr_noise.noise_segments)
    meta = {**fid.metadata, "line_broadening_hz": float(lb_hz) + float(gauss_hz)}
    return fid.evolve("apodize", {"lb_hz": lb_hz, "gauss_hz": gauss_hz},
                      data=fid.data * window, metadata=meta)


def zero_fill(fid: Fid, *, size: int | None = None, factor: int = 2) -> Fid:
    """Append zeros to the FID.

    Parameters
    ----------
    size : int, optional
        Final number of complex points (no truncation: at least the current length).
    factor : int
        When ``size`` is omitted: next power of two times ``factor``.
    """
    n = fid.points
    if size is None:
        size = int(2 ** int(np.ceil(np.log2(n)))) * max(1, int(factor))
    size = max(int(size), n)
    data = np.zeros(fid.data.shape[:-1] + (size,), dtype=np.complex128)
    data[..., :n] = fid.data
    return fid.evolve("zero_fill", {"size": size}, data=data)


# --- frequency domain ---------------------------------------------------------------

def hz_axis(points: int, sw_hz: float) -> np.ndarray:
    """Frequency offsets (Hz) from the carrier of an ascending spectrum of ``points`` points."""
    return (np.arange(points) - points // 2) * (sw_hz / points)


def fourier_transform(fid: Fid, *, first_point: float = 0.5) -> ComplexSpectrum:
    """FFT of a 1-D FID to a complex spectrum on an ascending ppm axis.

    The first point is multiplied by ``first_point``: 0.5 for FIDs that start
    at t = 0 (the discrete transform counts it twice, raising the baseline),
    1.0 for digitally filtered FIDs whose points before t = 0 were wrapped to
    the end by :func:`remove_group_delay`.  After ``fftshift`` the points run
    from low to high frequency, i.e. ascending ppm.
    Any remaining group delay is removed as a linear phase.
    """
    _require_1d(fid, "fourier_transform")
    data = np.array(fid.data)
    data[0] *= first_point
    n = data.size
    spec = np.fft.fftshift(np.fft.fft(data))
    if fid.group_delay:
        k = np.arange(n) - n // 2
        spec *= np.exp(2j * np.pi * fid.group_delay * k / n)
    ppm = fid.carrier_ppm + hz_axis(n, fid.sw_hz) / fid.obs_mhz
    meta = dict(fid.metadata)
    meta.setdefault("spectrometer_frequency_mhz", fid.obs_mhz)
    # referencing needs the unreferenced carrier to recover absolute frequencies
    meta["carrier_ppm"] = fid.carrier_ppm
    meta["obs_mhz"] = fid.obs_mhz
    return ComplexSpectrum(axis=ppm, data=spec, nucleus=fid.nucleus, obs_mhz=fid.obs_mhz,
                           metadata=meta,
                           provenance=fid.provenance.with_step(
                               "fourier_transform", {"group_delay_points": fid.group_delay,
                                                     "first_point": first_point}))


def phase_correct(spec: ComplexSpectrum, *, p0_deg: float | None = None,
                  p1_deg: float | None = None, auto: bool = True) -> ComplexSpectrum:
    """Phase a complex spectrum so its peaks are absorptive and positive.

    With explicit ``p0_deg``/``p1_deg`` those are applied (TopSpin convention).
    Otherwise the phases are found automatically (see :mod:`nmr_phase`), seeded
    with ``metadata["vendor_phase_deg"]`` when the vendor recorded phases, and
    checked: when the tallest peaks are still not positive a
    :class:`DataQualityWarning` is issued and ``metadata["phase"]["checked"]`` is False.

    Parameters
    ----------
    spec : ComplexSpectrum
    p0_deg, p1_deg : float, optional
        Zero-order phase and first-order phase across the full width, degrees.
    auto : bool
        Find phases automatically when none are given.
    """
    report: dict = {}
    if p0_deg is None and p1_deg is None and auto:
        vendor = spec.metadata.get("vendor_phase_deg")
        seed = (float(vendor["p0"]), float(vendor.get("p1", 0.0))) if vendor else None
        p0_deg, p1_deg, report, data = auto_phase(spec.data, seed,
                                                  source=spec.provenance.source or None)
    else:
        p0_deg, p1_deg = float(p0_deg or 0.0), float(p1_deg or 0.0)
        data = spec.data * phase_factor(len(spec), p0_deg, p1_deg)
    meta = dict(spec.metadata)
    meta["phase"] = {"p0_deg": p0_deg, "p1_deg": p1_deg, **report}
    return spec.evolve("phase_correct", {"p0_deg": round(p0_deg, 4),
                                         "p1_deg": round(p1_deg, 4)},
                       data=data, metadata=meta)


def real_part(spec: ComplexSpectrum) -> Spectrum:
    """Keep the real (absorptive) part as a :class:`Spectrum`."""
    return Spectrum(axis=spec.axis, intensities=spec.data.real, unit="ppm", technique="nmr",
                    nucleus=spec.nucleus, metadata=spec.metadata,
                    provenance=spec.provenance.with_step("real_part", {}))


# --- pipelines ----------------------------------------------------------------------

Pipeline = tuple[tuple[Callable, Mapping[str, Any]], ...]

#: Exponential line broadening (Hz) by nucleus; 1 Hz for heteronuclei.
DEFAULT_LB_HZ = {"1H": 0.3, "19F": 0.5, "31P": 1.0, "13C": 1.0}


def default_pipeline(item: Fid | Spectrum, lb_hz: float | None = None) -> Pipeline:
    """The standard processing for ``item``, as ``(function, params)`` pairs.

    For an FID: exponential apodisation (``lb_hz``, default 0.3 Hz for 1H,
    1 Hz for 13C), zero filling to twice the next power of two, FFT with group
    delay removal, automatic phasing, real part, automatic baseline
    correction, referencing.  For an already processed spectrum: baseline
    correction and referencing only.
    """
    if isinstance(item, Spectrum):
        return ((baseline_correct, {}), (reference, {}))
    lb = DEFAULT_LB_HZ.get(item.nucleus, 1.0) if lb_hz is None else float(lb_hz)
    # the group delay is removed inside the FFT as a linear phase: the same
    # result as remove_group_delay after zero filling, without two extra FFTs
    return ((apodize, {"lb_hz": lb}), (zero_fill, {"factor": 2}),
            (fourier_transform, {"first_point": 1.0 if item.group_delay else 0.5}), (phase_correct, {}), (real_part, {}),
            (baseline_correct, {}), (reference, {}))


def run_pipeline(item, pipeline: Pipeline):
    """Apply ``pipeline`` steps in the order written; return the last result."""
    for func, params in pipeline:
        item = func(item, **dict(params))
    return item


#: Broad-line fallback: line broadening (Hz) = spectral width / this.  Alginate
#: CP/MAS 13C (40 kHz width, lines 600-1300 Hz wide): 100 Hz, which takes its
#: tallest line from SNR 7 (1 Hz) to 20 (measured against the standard deviation
#: of its signal-free regions; 50 Hz: 16, 200 Hz: 25) while adding little to
#: the widths.  The noise estimate stays honest at such smoothing because
#: baseline correction sizes its noise segments to it
#: (:func:`fentid.spectra.nmr_noise.noise_segments`).
BROAD_LINE_SW_FRACTION = 400.0


def to_spectrum(fid: Fid, pipeline: Pipeline | None = None) -> Spectrum:
    """Process a 1-D FID to a real Spectrum (the default pipeline unless one is given).

    With the default pipeline, when no line of the magnitude spectrum stands
    :data:`~fentid.spectra.nmr_phase.PHASE_PEAK_SNR` noise levels above the
    noise at the default line broadening (phasing would find nothing to
    phase on) but one does at spectral width / :data:`BROAD_LINE_SW_FRACTION`
    Hz, the FID is processed with the broader line broadening: broad lines
    (solid-state, viscous or paramagnetic samples) are lost in the noise at
    the 0.3-1 Hz meant for solution-state lines.  A :class:`DataQualityWarning`
    names the file and the line broadening (``metadata["broad_lines"]``).
    """
    _require_1d(fid, "to_spectrum")
    if pipeline is not None:
        result = run_pipeline(fid, pipeline)
    else:
        result = _default_with_broad_fallback(fid)
    if not isinstance(result, Spectrum):
        raise ProcessingError(f"pipeline ended with a {type(result).__name__}, not a Spectrum",
                              fid.provenance.source or None)
    return result


def has_phaseable_line(fid: Fid, lb_hz: float) -> bool:
    """True when, with ``lb_hz`` of line broadening, a line of the magnitude spectrum
    stands :data:`~fentid.spectra.nmr_phase.PHASE_PEAK_SNR` noise levels out.

    One FFT of the FID as acquired (no zero filling; the magnitude ignores phase
    and group delay) and a noise estimate: a few milliseconds.  The tallest
    magnitude point is the test, as in :func:`~fentid.spectra.nmr_phase.measure_peak_phases`
    (whose prominence condition it always meets when it is that high).
    """
    from fentid.spectra.nmr_noise import estimate_noise
    from fentid.spectra.nmr_phase import PHASE_PEAK_SNR

    t = np.arange(fid.points) / fid.sw_hz
    data = fid.data * np.exp(-np.pi * lb_hz * t)
    data[0] *= 0.5
    spectrum = np.fft.fft(data)
    noise = estimate_noise(spectrum.real)
    return bool(noise > 0 and np.abs(spectrum).max() >= PHASE_PEAK_SNR * noise)


def _default_with_broad_fallback(fid: Fid) -> Spectrum:
    default_lb = DEFAULT_LB_HZ.get(fid.nucleus, 1.0)
    broad_lb = fid.sw_hz / BROAD_LINE_SW_FRACTION
    if (broad_lb <= 3 * default_lb or has_phaseable_line(fid, default_lb)
            or not has_phaseable_line(fid, broad_lb)):
        return run_pipeline(fid, default_pipeline(fid))
    source = fid.provenance.source
    warnings.warn(f"{source + ': ' if source else ''}no line stands out of the noise with the "
                  f"default {default_lb:g} Hz line broadening: broad lines (solid-state "
                  f"sample?), processed with {broad_lb:.3g} Hz", DataQualityWarning,
                  stacklevel=4)
    broad = run_pipeline(fid, default_pipeline(fid, lb_hz=broad_lb))
    meta = {**broad.metadata, "broad_lines": {"lb_hz": broad_lb, "default_lb_hz": default_lb}}
    return broad.evolve("broad_line_fallback", {"lb_hz": round(broad_lb, 6)}, metadata=meta)


def process_default(item: Fid | Spectrum) -> Spectrum:
    """Standard processing of a 1-D NMR FID or processed spectrum to a referenced Spectrum.

    Parameters
    ----------
    item : Fid or Spectrum
        A 1-D FID (processed in full) or a vendor-processed spectrum (baseline
        correction and referencing only).

    Returns
    -------
    Spectrum
        Ascending ppm axis, real intensities, every step in its provenance.
    """
    if isinstance(item, Fid):
        return to_spectrum(item)
    if isinstance(item, Spectrum):
        if item.technique != "nmr" or item.unit != "ppm":
            raise ProcessingError("process_default needs an NMR spectrum on a ppm axis",
                                  item.provenance.source or None)
        return run_pipeline(item, default_pipeline(item))
    raise ProcessingError(f"cannot process a {type(item).__name__} as NMR")
