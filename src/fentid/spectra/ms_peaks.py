"""One MS spectrum to a library-ready peak list (numpy only; no chromatography imported).

EI / unit-resolution spectra are summed into nominal masses, MS/MS spectra cleaned as the
spectral-entropy literature does, other accurate-mass full scans cleaned likewise; intensities
normalised to base peak 999.  :mod:`fentid.spectra.gcms` re-exports these names.
"""

from __future__ import annotations

import numpy as np

from fentid.errors import ProcessingError
from fentid.spectra import centroid as chrom
from fentid.spectra.model import PeakList, Spectrum

#: Intensity of the base peak after normalisation.
BASE_PEAK = 999.0


def is_unit_resolution(spectrum: Spectrum) -> bool:
    """True for unit-resolution data: a gas-phase source (EI, CI); for a spectrum that names
    no source, at most one peak per nominal mass.  A spectrum of a known LC/ambient source
    (ESI, APCI...) keeps its accurate masses, however sparse."""
    from fentid.spectra.ionization import GAS_PHASE_CODES

    ion = spectrum.metadata.get("ionization")
    if ion in GAS_PHASE_CODES:
        return True
    if ion is not None:
        return False
    if len(spectrum) < 2:
        return True
    return bool(np.all(np.diff(spectrum.axis) >= 0.6))


def spectrum_to_peaks(spectrum: Spectrum, *, mz_boundary: float = chrom.NOMINAL_BOUNDARY,
                      noise_fraction: float = 0.01) -> PeakList:
    """One MS spectrum to a library-ready PeakList.

    Profile spectra are centroided first. MS/MS spectra with a precursor
    keep accurate mass and are cleaned as the spectral-entropy literature
    does (:func:`fentid.spectra.msms.clean_msms`: precursor region removed,
    peaks below ``noise_fraction`` of the base peak dropped, peaks within
    0.05 Da merged). EI / unit-resolution spectra are summed into nominal
    masses (boundary ``mz_boundary``). Intensities are normalised to base
    peak 999.

    Parameters
    ----------
    spectrum : Spectrum
        technique "ms", unit "m/z".

    Returns
    -------
    PeakList
    """
    from fentid.spectra import msms

    if spectrum.technique != "ms" or spectrum.unit != "m/z":
        raise ProcessingError(f"spectrum_to_peaks needs an m/z MS spectrum, not {spectrum!r}")
    mz, inten = np.asarray(spectrum.axis), np.asarray(spectrum.intensities)
    if not spectrum.centroided and mz.size > 2:
        _, mz, inten = chrom.centroid_arrays(np.array([0, mz.size]), mz, inten)
    level = int(spectrum.metadata.get("ms_level") or 1)
    precursor = spectrum.metadata.get("precursor_mz")
    meta = {k: spectrum.metadata[k] for k in ("name", "ms_level", "precursor_mz",
                                                "ionization", "ionization_raw",
                                                "collision_energy_ev", "retention_time_s",
                                                "polarity", "instrument", "scan_range_mz",
                                                "scan_range_source")
            if spectrum.metadata.get(k) is not None}
    prov = spectrum.provenance
    if level >= 2:
        mz, inten = msms.clean_arrays(mz, inten, precursor_mz=precursor,
                                      noise_fraction=noise_fraction)
        step = "clean_msms"
    elif is_unit_resolution(spectrum.replace(axis=mz, intensities=inten)):
        keep = inten > 0
        nominal = chrom.nominal_mass(mz[keep], mz_boundary)
        mz, index = np.unique(nominal, return_inverse=True)
        inten = np.bincount(index, weights=inten[keep]).astype(np.float64)
        mz = mz.astype(np.float64)
        step = "nominal_binning"
    else:
        mz, inten = msms.clean_arrays(mz, inten, precursor_mz=None,
                                      noise_fraction=noise_fraction)
        step = "clean_ms1"
    keep = inten > 0
    mz, inten = mz[keep], inten[keep]
    if inten.size:
        inten = inten / inten.max() * BASE_PEAK
    meta["normalization"] = "base peak 999"
    return PeakList.from_unsorted(mz, inten, unit="m/z", technique="ms", metadata=meta,
                                  provenance=prov.with_step("spectrum_to_peaks", {
                                      "method": step, "mz_boundary": mz_boundary,
                                      "noise_fraction": noise_fraction}))
