"""Conditions-aware NMR peak-list comparison (solvents, referencing, fields, few lines).

What differs from :func:`fentid.spectra.scores_nmr.nmr_peak_match`
------------------------------------------------------------------
* **Lines and signals at their own field.**  A chemical shift does not depend on the
  field, a multiplet's width in ppm does (J / field).  At 200 MHz and above a 1H line lies
  within about 0.02 ppm of its multiplet's centre, so lines are kept (only duplicates
  within :data:`LINE_MERGE_HZ` merge) and pair many-to-one with the other side's lines
  or signal centres (each list is split into weight units that pair one-to-one).  Below
  200 MHz (benchtop) lines closer than :data:`MULTIPLET_HZ` at their own field merge into
  multiplet centroids first.  The
  tolerance is never widened for a low-field side (the old rule let 23-60 MHz references
  match anything crowded): a coarse reference simply has fewer, merged signals, which
  pair with fewer query signals and count less (below).
* **Per-signal shifts bounded by solvent statistics.**  Each signal may move on its own
  by up to :data:`SHIFT_BOUND_PPM` (per nucleus, per condition class: same solvent or
  not), with a Gaussian penalty of width :data:`SHIFT_SIGMA_PPM`.  The values come from the
  spread measured on the shared records (``scripts/measure_nmr_solvent_shifts.py``; 1H same
  solvent: 170 lines/signals, median 0.003, p95 0.027 ppm; 1H other solvent: 13 signals, median
  0.08, p90 0.44, p95 0.52 ppm; 13C other solvent: 33 signals, median 0.20, p90 1.7, p95
  2.7 ppm): other-solvent bound = p95 and sigma about half the p90; same-solvent bound
  0.06 ppm (twice the p95: pH, temperature and concentration move a few signals more).  One global offset is searched
  as well, but only as large as referencing differences are (:data:`OFFSET_PPM`): 0.1 ppm
  (1H) when one side is referenced to HDO and the other to DSS/TSP/TMS (HDO moves with
  temperature and is set to 4.70-4.80 by habit), else 0.02 ppm; 13C lists of D2O samples
  referenced to TMS vs DSS differ by about 2 ppm, so 2.5 ppm there.
* **Exchangeable protons.**  In D2O and CD3OD, OH/NH protons exchange and vanish: when one
  side is in a protic deuterated solvent and the other is not, the aprotic side's 1H signals
  at 8.5 ppm and above (amide NH, phenol OH) are left out of its weights.
* **Other solvent.**  When the two sides were not measured in one stated solvent the score
  is multiplied by :data:`CROSS_SOLVENT_FACTOR` (0.93): the wider per-signal window makes
  chance agreement likelier, so only near-complete agreement identifies across solvents.
* **Few-line penalty.**  The score is multiplied by ``1 - 0.5 ** (n + 1)`` (``n`` signals
  of the shorter list): a one-signal reference reaches at most 0.75, two 0.875, three 0.94,
  so a singlet (dimethyl sulfone) can never reach the 0.85 identification threshold alone,
  and a two-signal one only with near-perfect agreement.

Score
-----
Weights are normalised to unit sum on each side; a pair (i, j) gains
``sqrt(w_i w_j) * exp(-0.5 (d / sigma)**2)`` for ``d = |q_i + offset - r_j| <= bound``; the
one-to-one pairing maximising the total is found with the Hungarian algorithm.  The score
is that total (a Bhattacharyya coefficient: 1 for identical lists) times the few-line
factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from fentid.spectra.scores_nmr import merge_lines

#: Lines closer than this (Hz, at their own field) are one signal (a multiplet: 1H J up to
#: ~18 Hz geminal; 13C lists are decoupled, so 13C lines merge only when equal within 1 Hz).
MULTIPLET_HZ = {"1H": 18.0, "13C": 1.0, "19F": 5.0}
#: 1H lists at or above this field (MHz) keep their lines (see :func:`to_signals`).
HIGH_FIELD_MHZ = 200.0
#: Lines closer than this (Hz) are one line (duplicates of a peak pick).
LINE_MERGE_HZ = 1.5
#: Gaussian width (ppm) of a per-signal shift: (same solvent, different solvent).
SHIFT_SIGMA_PPM = {"1H": (0.025, 0.2), "13C": (0.3, 1.0), "19F": (0.2, 1.0)}
#: Largest per-signal shift (ppm): (same solvent, different solvent).
SHIFT_BOUND_PPM = {"1H": (0.06, 0.5), "13C": (1.0, 2.7), "19F": (0.6, 3.0)}
#: Largest global offset (ppm): (same referencing, HDO vs standard / TMS vs DSS in D2O).
OFFSET_PPM = {"1H": (0.02, 0.10), "13C": (0.5, 2.5), "19F": (0.5, 1.0)}
#: Extra shift (ppm) allowed between a multiplet region ("m") of a signal list and the
#: lines or atoms it stands for (a 4-5 H sugar "m" spans about 0.2 ppm).
BROAD_EXTRA_PPM = {"1H": 0.1}
#: Score factor when the two sides were not measured in the same (stated) solvent: the
#: per-signal window is 8x wider there, so chance agreement is likelier.
CROSS_SOLVENT_FACTOR = 0.93
#: Grid step of the global offset search, as a fraction of the same-solvent sigma.
OFFSET_STEP = 1.0
#: Field assumed for a list that does not state one (MHz, 1H frequency): a modern magnet.
DEFAULT_FIELD_MHZ = 400.0

_SOLVENTS = (("d2o", ("d2o", "h2o", "water", "deuterium")), ("dmso", ("dmso",)),
             ("cdcl3", ("cdcl3", "chloroform")), ("cd3od", ("cd3od", "methanol", "meod")),
             ("acetone", ("acetone",)), ("c6d6", ("c6d6", "benzene")),
             ("cd3cn", ("cd3cn", "acetonitrile")), ("pyridine", ("pyridine",)))
PROTIC = ("d2o", "cd3od")


#: Half-width (ppm) of the window around the residual solvent line left out of NMR search,
#: per nucleus; HDO is broad and moves with temperature, so D2O gets a wider window.  The
#: same values as :data:`fentid.searching.SOLVENT_WINDOW_PPM` (kept there so importing the
#: searcher stays cheap; a test checks they agree).
SOLVENT_WINDOW_PPM = {"1H": 0.03, "13C": 1.0, "d2o": 0.12}
#: Half-width (ppm) around 0 ppm (TMS, DSS, TSP internal standards) left out of NMR search.
STANDARD_WINDOW_PPM = {"1H": 0.03, "13C": 0.5}


def solvent_windows(nucleus: str, solvent: str | None) -> list[tuple[float, float]]:
    """(centre, half-width) ppm of the 0 ppm standard and the solvent's residual line."""
    from fentid.spectra.nmr_reference import SOLVENT_SHIFTS

    out = [(0.0, STANDARD_WINDOW_PPM.get(nucleus, 0.0))]
    key = canonical_solvent(solvent)
    shift = SOLVENT_SHIFTS.get(key or "", {}).get(nucleus)
    if shift is not None:
        half = SOLVENT_WINDOW_PPM["d2o"] if key == "d2o" and nucleus == "1H" \
            else SOLVENT_WINDOW_PPM.get(nucleus, 0.0)
        out.append((shift, half))
    return out


def outside_windows(position: np.ndarray, nucleus: str, solvent: str | None) -> np.ndarray:
    """Mask of the positions outside the standard and solvent windows."""
    keep = np.ones(np.asarray(position).size, bool)
    for centre, half in solvent_windows(nucleus, solvent):
        keep &= np.abs(np.asarray(position) - centre) > half
    return keep


def canonical_solvent(text: str | None) -> str | None:
    """``"Dimethylsulphoxide-D6 (DMSO-D6, C2D6SO)"`` -> ``"dmso"``; None when unknown."""
    low = re.sub(r"\s+", "", (text or "").lower())
    if not low or low in ("unreported", "none"):
        return None
    for key, words in _SOLVENTS:
        if any(w in low for w in words):
            return key
    return None


@dataclass(frozen=True)
class Signals:
    """A peak list reduced to signals, with what the comparison needs.

    Attributes
    ----------
    position, weight : ndarray
        Signal shifts (ppm, ascending) and weights (unit sum).
    nucleus : str
    solvent : str or None
        Canonical solvent (:func:`canonical_solvent`).
    hdo_referenced : bool
        The axis was set on the residual HDO line rather than a standard.
    """

    position: np.ndarray
    weight: np.ndarray
    nucleus: str
    solvent: str | None = None
    hdo_referenced: bool = False
    broad: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.position.size)


def to_signals(position, intensity, nucleus: str, field_mhz: float | None = None,
               solvent: str | None = None, hdo_referenced: bool = False,
               list_kind: str | None = None, multiplicity=None) -> Signals:
    """Merge lines into signals at their own field (see module notes).

    Parameters
    ----------
    position, intensity : array_like
        ppm and non-negative intensities (any order).
    nucleus : str
    field_mhz : float, optional
        1H frequency of the magnet (MHz); :data:`DEFAULT_FIELD_MHZ` when unknown.
    solvent : str, optional
        As the record states it.
    hdo_referenced : bool
    list_kind : str, optional
        ``"signals"``: already one row per signal (nmrshiftdb2, BMRB peaks): only equal
        shifts merge.
    multiplicity : sequence of str, optional
        Per row (signal lists): ``m`` marks a multiplet region whose centre may sit up to
        :data:`BROAD_EXTRA_PPM` from the atoms it stands for.
    """
    pos = np.asarray(position, float)
    inten = np.clip(np.asarray(intensity, float), 0, None)
    order = np.argsort(pos, kind="stable")
    pos, inten = pos[order], inten[order]
    if inten.sum() <= 0:
        inten = np.ones_like(pos)
    field = field_mhz if field_mhz and np.isfinite(field_mhz) and field_mhz > 0 \
        else DEFAULT_FIELD_MHZ
    if nucleus == "13C" and field < 300 and field_mhz:
        field = field * 3.977  # a 13C list that states the 13C frequency
    if list_kind == "signals":
        gap = 1e-4
    elif nucleus == "1H" and field >= HIGH_FIELD_MHZ:
        # at 200 MHz and above a multiplet's lines lie within J/2 / field (~0.02 ppm) of
        # its centre: lines are compared as lines, many-to-one with signals (units below);
        # merging neighbours closer than a J would chain a crowded sugar region into blobs
        gap = LINE_MERGE_HZ / field
    else:
        gap = MULTIPLET_HZ.get(nucleus, 1.0) / field
    broad = None
    if list_kind == "signals" and multiplicity is not None and len(multiplicity) == pos.size:
        broad = np.array([str(multiplicity[k]).strip().lower() == "m" for k in order])
    n_before = pos.size
    pos, inten = merge_lines(pos, inten, gap)
    if pos.size != n_before:
        broad = None
    total = inten.sum()
    weight = inten / total if total > 0 else np.full(pos.size, 1.0 / max(pos.size, 1))
    return Signals(pos, weight, nucleus, canonical_solvent(solvent), hdo_referenced,
                   broad if broad is not None and broad.any() else None)


@dataclass(frozen=True)
class Match:
    """Result of :func:`match_signals`.

    Attributes
    ----------
    score : float
        0..1, few-line factor included.
    coverage : float
        Bhattacharyya total before the few-line factor.
    offset_ppm : float
        Global offset added to the query.
    pairs : tuple of (int, int, float)
        (query signal, reference signal, residual ppm).
    unmatched_query : tuple of int
        Query signals with no partner (what a mixture leaves unexplained).
    """

    score: float
    coverage: float
    offset_ppm: float
    pairs: tuple
    unmatched_query: tuple


def few_line_factor(n: int) -> float:
    """``1 - 0.5**(n + 1)``: 0.75 for one signal, 0.875 for two, 0.94 for three..."""
    return 1.0 - 0.5 ** (max(int(n), 0) + 1) if n > 0 else 0.0


def _widths(q: Signals, r: Signals):
    k = 0 if q.solvent is not None and q.solvent == r.solvent else 1
    nuc = q.nucleus
    sigma = SHIFT_SIGMA_PPM.get(nuc, SHIFT_SIGMA_PPM["13C"])[k]
    bound = SHIFT_BOUND_PPM.get(nuc, SHIFT_BOUND_PPM["13C"])[k]
    wide = q.hdo_referenced != r.hdo_referenced if nuc == "1H" else (
        "d2o" in (q.solvent, r.solvent) or q.solvent != r.solvent)
    offset = OFFSET_PPM.get(nuc, OFFSET_PPM["13C"])[1 if wide else 0]
    return sigma, bound, offset


def _exchangeable_mask(s: Signals, other: Signals) -> np.ndarray:
    """Signals of an aprotic-solvent list that a protic-solvent partner cannot show
    (NH/OH above 8.5 ppm for 1H); all False otherwise."""
    if s.nucleus != "1H" or other.solvent not in PROTIC or s.solvent in PROTIC:
        return np.zeros(s.n, bool)
    return s.position >= 8.5


def match_signals(q: Signals, r: Signals) -> Match:
    """Best pairing of two signal lists (module notes)."""
    if q.n == 0 or r.n == 0:
        return Match(0.0, 0.0, 0.0, (), tuple(range(q.n)))
    sigma, bound, span = _widths(q, r)
    qw, rw = q.weight.copy(), r.weight.copy()
    # exchangeable protons the other (protic) side cannot show are left out of both sums
    for w, mask in ((qw, _exchangeable_mask(q, r)), (rw, _exchangeable_mask(r, q))):
        if mask.any() and not mask.all():
            w[mask] = 0.0
            w /= w.sum()
    # lists of different granularity (a 4 H "m" against four per-atom shifts) must pair
    # many-to-one: each signal is split into units of about 1/UNITS of the total weight,
    # and units pair one-to-one
    q_of, qu = _units(qw)
    r_of, ru = _units(rw)
    step = OFFSET_STEP * SHIFT_SIGMA_PPM.get(q.nucleus, SHIFT_SIGMA_PPM["13C"])[0]
    n_steps = int(np.ceil(span / step))
    offsets = np.linspace(-span, span, 2 * n_steps + 1) if n_steps else np.zeros(1)
    offsets = offsets[np.argsort(np.abs(offsets), kind="stable")]
    root = np.sqrt(qu[:, None] * ru[None, :])
    diff = q.position[q_of][:, None] - r.position[r_of][None, :]
    # a multiplet region ("m" of a signal list) stands for atoms spread about its centre
    qb = q.broad[q_of] if q.broad is not None else np.zeros(q_of.size, bool)
    rb = r.broad[r_of] if r.broad is not None else np.zeros(r_of.size, bool)
    extra = BROAD_EXTRA_PPM.get(q.nucleus, 0.0) * (qb[:, None] | rb[None, :])
    sigma = np.sqrt(sigma ** 2 + (extra / 2) ** 2)
    bound = bound + extra
    # every offset at once; the Hungarian runs only where the bound (the smaller of the
    # row-max and column-max sums, which no pairing can beat) exceeds the best so far
    d = np.abs(diff[None, :, :] + offsets[:, None, None])
    gains = np.where(d <= bound, root * np.exp(-0.5 * (d / sigma) ** 2), 0.0)
    upper = np.minimum(gains.max(axis=2).sum(axis=1), gains.max(axis=1).sum(axis=1))
    best = (-1.0, 0.0, None)
    # the bound decides the order; ties keep the smallest offset (offsets are sorted by |d|)
    for k in np.argsort(-upper, kind="stable"):
        if upper[k] <= 0 or upper[k] <= best[0] + 1e-12:
            break
        gain = gains[k]
        rows, cols = linear_sum_assignment(gain, maximize=True)
        total = float(gain[rows, cols].sum())
        if total > best[0] + 1e-12 or (abs(total - best[0]) <= 1e-12
                                       and abs(offsets[k]) < abs(best[1])):
            best = (total, float(offsets[k]), (rows, cols, gain))
    if best[2] is None:
        return Match(0.0, 0.0, 0.0, (), tuple(range(q.n)))
    total, delta, (rows, cols, gain) = best
    ok = gain[rows, cols] > 0
    seen, pairs = set(), []
    for a, b in zip(rows[ok], cols[ok]):
        i, j = int(q_of[a]), int(r_of[b])
        if (i, j) not in seen:
            seen.add((i, j))
            pairs.append((i, j, float(q.position[i] + delta - r.position[j])))
    pairs = tuple(pairs)
    matched = {i for i, _, _ in pairs}
    coverage = min(1.0, total)
    n = min(int((rw > 0).sum()), int((qw > 0).sum()))
    other = q.solvent is None or q.solvent != r.solvent
    score = coverage * few_line_factor(n) * (CROSS_SOLVENT_FACTOR if other else 1.0)
    return Match(score, coverage, delta, pairs,
                 tuple(i for i in range(q.n) if i not in matched))


#: Units a list's total weight is split into for many-to-one pairing.
UNITS = 24


def _units(w: np.ndarray):
    """(signal of each unit, unit weights): signal i split into round(w_i * UNITS) units."""
    n = np.maximum(1, np.round(w * UNITS)).astype(int)
    n[w <= 0] = 0
    of = np.repeat(np.arange(w.size), n)
    return of, (w / np.maximum(n, 1))[of]


def _density_overlap(qp, qw, rp, rw, sigma: float) -> float:
    """Cosine of the two lists rendered as Gaussians of width ``sigma`` (closed form)."""
    def gram(a, wa, b, wb):
        d = a[:, None] - b[None, :]
        return float(wa @ np.exp(-d ** 2 / (4 * sigma ** 2)) @ wb)

    den = np.sqrt(gram(qp, qw, qp, qw) * gram(rp, rw, rp, rw))
    return gram(qp, qw, rp, rw) / den if den > 0 else 0.0


def signals_of_peaklist(peaks, field_mhz=None, solvent=None, list_kind=None,
                        hdo_referenced=False) -> Signals:
    """:func:`to_signals` of a :class:`~fentid.spectra.model.PeakList` (fields from its
    metadata unless given)."""
    meta = peaks.metadata
    return to_signals(peaks.position, peaks.intensity, peaks.nucleus or "1H",
                      field_mhz if field_mhz is not None else meta.get(
                          "spectrometer_frequency_mhz"),
                      solvent if solvent is not None else meta.get("solvent"),
                      hdo_referenced, list_kind or meta.get("list_kind"),
                      meta.get("multiplicity"))


def is_hdo_referenced(spectrum_or_meta) -> bool:
    """True when a spectrum's axis was set on the HDO line (Bruker ``.SHIFT REFERENCE``
    naming D2O, or fentid's solvent referencing of a D2O sample)."""
    meta = getattr(spectrum_or_meta, "metadata", spectrum_or_meta) or {}
    if canonical_solvent(meta.get("solvent")) != "d2o":
        return False
    if meta.get("referenced") == "solvent":
        return True
    header = (meta.get("vendor") or {}) if isinstance(meta.get("vendor"), dict) else {}
    ref = str(meta.get("shift_reference_text") or header.get(".SHIFT REFERENCE") or "")
    return "d2o" in ref.lower() or "hdo" in ref.lower()
