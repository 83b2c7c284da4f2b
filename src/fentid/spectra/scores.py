"""Similarity scores on peak lists and spectra: one import point.

Mass spectra (:mod:`fentid.spectra.scores_ms`): NIST identity and reverse match
factors and the simple similarity factor (integer 0..999), weighted cosine
(presets in ``COSINE_PRESETS``) and entropy similarity (Li et al. 2021).
NMR (:mod:`fentid.spectra.scores_nmr`): peak-list similarity with optimal
one-to-one assignment under a global shift, field-aware, and full-spectrum
correlation.  The library-wide fast forms live in
:mod:`fentid.reference_library.search`.
"""

from fentid.spectra.scores_ms import (
    COSINE_PRESETS,
    clean_for_entropy,
    entropy_similarity,
    identity_match_factor,
    nist_factors_many,
    nist_preprocess,
    nominal_mass,
    reverse_match_factor,
    similarity_factor,
    spectral_entropy,
    weighted_cosine,
)
from fentid.spectra.scores_nmr import (
    NUCLEUS_DEFAULTS,
    NmrMatch,
    merge_lines,
    nmr_peak_match,
    nmr_peak_similarity,
    spectrum_correlation,
)

__all__ = [
    "COSINE_PRESETS", "NUCLEUS_DEFAULTS", "NmrMatch", "clean_for_entropy", "entropy_similarity",
    "identity_match_factor", "merge_lines", "nist_factors_many", "nist_preprocess",
    "nmr_peak_match", "nmr_peak_similarity", "nominal_mass", "reverse_match_factor",
    "similarity_factor", "spectral_entropy", "spectrum_correlation", "weighted_cosine",
]
