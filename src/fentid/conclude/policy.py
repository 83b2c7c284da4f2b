"""Thresholds of the conclusion rules, per score scale, and where each number comes from.

Every number below was measured on real spectra in ../shared/data by
``python benchmarks/measure_thresholds.py`` (which prints the distributions, the quantile
each threshold is taken at and what the evaluation then gives); the README's "Conclusion
thresholds" section copies its output.  ``tests/conclude/test_thresholds.py`` re-measures the
EI figures and fails when the defaults drift from what the data support.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """Thresholds of one score scale.

    Attributes
    ----------
    identified : float
        Score (and reverse score, where one is computed) at or above which the best compound
        can be ``identified`` when no other compound comes within ``replicate_spread``.
    replicate_spread : float
        Score spread of replicate spectra of one compound against one reference: another
        compound scoring within this of the best cannot be excluded.
    clear : float
        Lower score at which the best compound can still be ``identified``, provided the next
        compound scores at least ``clear_margin`` below it (a noisy spectrum of a compound
        that has no close relative in the library).  Equal to ``identified`` where no such
        second tier is used.
    clear_margin : float
        Margin to the next compound that the ``clear`` tier needs.
    tentative : float
        Below this, ``no_match``.
    identified_reverse : bool
        Whether the reverse score (RMF) must reach the same thresholds (NIST EI factors).
    min_matched_peaks : int
        Library peaks (>= 1 % of its base peak, inside the scanned range) the query must also
        show before any compound is ``identified`` or an ``isomer_group`` named.
    min_explained : float
        Fraction (0-1) of the library spectrum's in-range intensity the query must show.
    """

    identified: float = 900.0
    replicate_spread: float = 70.0
    clear: float = 800.0
    clear_margin: float = 125.0
    tentative: float = 650.0
    identified_reverse: bool = True
    min_matched_peaks: int = 12
    min_explained: float = 0.8


#: Default policy per algorithm (NMR and MS/MS scores are on a 0-1 scale).
POLICIES: dict[str, Policy] = {
    "identity": Policy(),
    "reverse": Policy(),
    "similarity": Policy(),
    "cosine": Policy(identified=0.85, replicate_spread=0.06, clear=0.85, clear_margin=0.06,
                     tentative=0.6, identified_reverse=False, min_matched_peaks=3,
                     min_explained=0.5),
    "entropy": Policy(identified=0.8, replicate_spread=0.08, clear=0.8, clear_margin=0.08,
                      tentative=0.4, identified_reverse=False, min_matched_peaks=3,
                      min_explained=0.5),
    "nmr": Policy(identified=0.85, replicate_spread=0.05, clear=0.85, clear_margin=0.05,
                  tentative=0.5, identified_reverse=False, min_matched_peaks=0,
                  min_explained=0.0),
}


def policy_for(algorithm: str, technique: str) -> Policy:
    """The default policy of a score (NMR peak lists use ``"nmr"`` whatever the name)."""
    if technique.startswith("nmr"):
        return POLICIES["nmr"]
    return POLICIES.get(algorithm, POLICIES["identity"])
