"""1H mixture analysis: a sample spectrum as a non-negative sum of library references.

The task of Mnova SMA, Chenomx or ASICS: which library compounds are in the sample, in what
molar ratio, and which signals nothing in the library explains (a new analog shows up there).

Method
------
1. **Candidates.**  Every live 1H entry of the library is tested for *containment*: the
   fraction of its signal weight that has a picked query line within the same-solvent
   bound (:data:`fentid.spectra.nmr_match.SHIFT_BOUND_PPM`), under one global offset
   (up to 0.1 ppm for an HDO-referenced D2O sample, else 0.02 ppm).  Entries with at least
   :data:`MIN_CONTAINMENT` and :data:`MIN_SIGNALS` signals are candidates (best
   :data:`MAX_CANDIDATES`).
2. **References at the sample's field.**  Each candidate is rendered on the sample's grid
   with Lorentzian lines of the sample's line width: transitions (BMRB, picked spectra) keep
   their J in Hz (lines of a multiplet, i.e. within :data:`MULTIPLET_HZ` of each other and
   spanning at most :data:`MAX_MULTIPLET_HZ`, are placed around their centre at the
   sample's field); signal lists with multiplicities but no J (nmrshiftdb2, BMRB peaks) get
   first-order patterns with :data:`TYPICAL_J_HZ`.  Each rendered reference has unit area
   per observed proton.
3. **Fit.**  Non-negative least squares (``scipy.optimize.nnls``) of the sample (solvent,
   HDO and 0 ppm regions left out) on the rendered references, with one global offset
   searched and then a small per-compound shift (within :data:`COMPOUND_SHIFT_PPM`) refined
   one compound at a time.
4. **Components.**  A candidate with a positive coefficient is *found* when the sample shows
   its signals: at least :data:`MIN_EXPLAINED` of its rendered intensity lies under the
   sample after the other components are removed.  Molar ratios are the coefficients per
   observed proton (non-exchangeable H: H on carbon, from the structure), normalised to 1
   over the components found.  Several entries of one constitution (a compound and its stereo
   variants) are reported once, under the named compound.
5. **Unexplained.**  Peaks of the residual (sample minus fit) above :data:`UNEXPLAINED_FRACTION`
   of the tallest sample line, and the residual's share of the sample's positive area.

Conclusions per component (the honesty rules of the MS conclusions): ``identified`` only
when the reference is measured (not predicted), has at least :data:`IDENTIFY_MIN_SIGNALS`
signals, :data:`IDENTIFY_EXPLAINED` of it is explained and no other library compound of
another constitution explains the same signals as well; a component found only from a
predicted reference is at most ``tentative`` and says so; otherwise ``tentative`` with the
reason.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import nnls

from fentid.spectra import nmr_match as M

#: Candidate entries need this fraction of their signal weight seen in the sample ...
MIN_CONTAINMENT = 0.75
#: ... and at least this many signals.
MIN_SIGNALS = 2
#: Candidates kept (best containment first).
MAX_CANDIDATES = 60
#: Lines closer than this (Hz) at the reference's field are one multiplet ...
MULTIPLET_HZ = 18.0
#: ... when the group spans at most this (Hz); wider chains keep their ppm positions.
MAX_MULTIPLET_HZ = 40.0
#: J (Hz) used to draw multiplets of signal lists that give a multiplicity but no J.
TYPICAL_J_HZ = 7.0
#: Largest per-compound shift (ppm) beyond the global offset (pH, concentration, matrix).
COMPOUND_SHIFT_PPM = 0.02
#: Fraction of a component's rendered intensity the sample must show to count as found.
MIN_EXPLAINED = 0.6
#: ... and this fraction of each of its major signals.
MIN_SIGNAL_EXPLAINED = 0.5
#: ... and for ``identified``.
IDENTIFY_EXPLAINED = 0.75
IDENTIFY_WEAKEST = 0.7
IDENTIFY_MIN_SIGNALS = 3
#: Fraction of a component's spectrum the other candidates must fail to reproduce for
#: ``identified``.
MIN_UNIQUENESS = 0.3
#: Residual peaks above this fraction of the tallest sample line are unexplained signals.
UNEXPLAINED_FRACTION = 0.03
#: Working line width (Hz): sample and references are compared at least this broad.
MIN_LINEWIDTH_HZ = 2.0
#: Regions (ppm) never fitted, per solvent key, plus the 0 ppm standard.
EXCLUDED_PPM = {"d2o": [(4.55, 5.05)], "dmso": [(2.45, 2.55), (3.25, 3.40)],
                "cdcl3": [(7.20, 7.32)], "cd3od": [(3.25, 3.36), (4.75, 4.95)]}
STANDARD_PPM = (-0.2, 0.15)
FIT_RANGE_PPM = (0.3, 10.5)


def _multiplet(shift: float, mult: str, field: float) -> list[tuple[float, float]]:
    """First-order (ppm, relative intensity) lines of one signal at ``field`` MHz."""
    j = TYPICAL_J_HZ / field
    m = (mult or "").strip().lower()
    patterns = {"s": [(0, 1)], "d": [(-0.5, 1), (0.5, 1)], "t": [(-1, 1), (0, 2), (1, 1)],
                "q": [(-1.5, 1), (-0.5, 3), (0.5, 3), (1.5, 1)],
                "dd": [(-0.75, 1), (-0.25, 1), (0.25, 1), (0.75, 1)]}
    if m in patterns:
        pat = patterns[m]
    elif m in ("", "br", "bs", "br s"):
        pat = [(0, 1)]
    else:  # m, ddd, dt...: an unresolved multiplet about 2 J wide
        pat = [(-1, 1), (-0.5, 2), (0, 3), (0.5, 2), (1, 1)]
    total = sum(w for _, w in pat)
    return [(shift + k * j, w / total) for k, w in pat]


def lines_at_field(position, intensity, ref_field: float | None, field: float,
                   list_kind: str | None, multiplicity=None) -> tuple[np.ndarray, np.ndarray]:
    """A reference's lines as they would appear at ``field`` MHz (see module notes)."""
    pos = np.asarray(position, float)
    inten = np.clip(np.asarray(intensity, float), 0, None)
    if inten.sum() <= 0:
        inten = np.ones_like(pos)
    if list_kind == "signals":
        mult = list(multiplicity) if multiplicity is not None and len(multiplicity) == \
            pos.size else [""] * pos.size
        out = [(p, w * i) for s, i, m in zip(pos, inten, mult)
               for p, w in _multiplet(s, m, field)]
        arr = np.asarray(out, float)
        return arr[:, 0], arr[:, 1]
    rf = ref_field if ref_field and math.isfinite(ref_field) else field
    order = np.argsort(pos)
    pos, inten = pos[order], inten[order]
    new = pos.copy()
    start = 0
    for k in range(1, pos.size + 1):
        if k == pos.size or (pos[k] - pos[k - 1]) * rf > MULTIPLET_HZ:
            group = slice(start, k)
            span = (pos[k - 1] - pos[start]) * rf
            if k - start > 1 and span <= MAX_MULTIPLET_HZ:
                w = inten[group]
                centre = float((pos[group] * w).sum() / w.sum()) if w.sum() > 0 else \
                    float(pos[group].mean())
                new[group] = centre + (pos[group] - centre) * rf / field
            start = k
    return new, inten


def render(lines_pos, lines_int, grid: np.ndarray, fwhm_ppm: float) -> np.ndarray:
    """Lorentzian lines (area ``lines_int`` each) on ``grid`` (ppm)."""
    half = fwhm_ppm / 2
    out = np.zeros(grid.size)
    for p, a in zip(lines_pos, lines_int):
        lo, hi = np.searchsorted(grid, [p - 40 * half, p + 40 * half])
        x = grid[lo:hi] - p
        out[lo:hi] += a * (half / np.pi) / (x * x + half * half)
    return out


def observed_protons(smiles: str | None, fallback: float) -> float:
    """H atoms on carbon (not exchanged in D2O) from the structure; ``fallback`` without
    RDKit or a structure."""
    from fentid.reference_library.validate import rdkit_available

    if not smiles or not rdkit_available():
        return fallback
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return fallback
    mols = Chem.GetMolFrags(mol, asMols=True)
    biggest = max(mols, key=lambda m: m.GetNumHeavyAtoms())
    n = sum(a.GetTotalNumHs() for a in biggest.GetAtoms() if a.GetSymbol() == "C")
    return float(n) if n > 0 else fallback


class _Sample:
    """The sample spectrum on the fitting grid."""

    def __init__(self, spectrum, peaks, hdo: bool):
        meta = spectrum.metadata
        self.field = float(meta.get("spectrometer_frequency_mhz") or M.DEFAULT_FIELD_MHZ)
        self.solvent = M.canonical_solvent(meta.get("solvent"))
        widths = np.asarray(peaks.width, float)
        strong = np.argsort(peaks.intensity)[-20:]
        width_ppm = float(np.nanmedian(widths[strong])) if np.isfinite(widths[strong]).any() \
            else 1.0 / self.field
        self.fwhm = max(width_ppm, MIN_LINEWIDTH_HZ / self.field)
        step = self.fwhm / 4
        self.grid = np.arange(FIT_RANGE_PPM[0], FIT_RANGE_PPM[1], step)
        y = np.interp(self.grid, spectrum.axis, spectrum.intensities, left=0, right=0)
        extra = np.sqrt(max(self.fwhm ** 2 - width_ppm ** 2, 0.0)) / 2.355 / step
        if extra > 0.3:
            y = gaussian_filter1d(y, extra)
        mask = np.ones(self.grid.size, bool)
        for lo, hi in EXCLUDED_PPM.get(self.solvent or "", []) + [STANDARD_PPM]:
            mask &= ~((self.grid >= lo) & (self.grid <= hi))
        self.mask = mask
        scale = float(np.max(y[mask])) if mask.any() else 1.0
        self.y = np.where(mask, y / (scale or 1.0), 0.0)
        self.peaks = peaks
        self.hdo = hdo
        from fentid.spectra.nmr_search import hdo_offset

        centre = hdo_offset(spectrum) if hdo else None
        self.offset_source = "HDO line" if centre is not None else (
            "searched (HDO-referenced)" if hdo else "searched")
        if centre is not None:
            self.offsets = centre + np.arange(-0.02, 0.0201, 0.0025)
        else:
            self.offsets = (np.arange(-0.10, 0.1001, 0.0025) if hdo else
                            np.arange(-0.02, 0.0201, 0.0025))


def _containment(sample_pos: np.ndarray, sig: M.Signals, offsets, bound: float) -> float:
    """Largest fraction of the reference's weight with a sample line within ``bound``."""
    if sig.n == 0 or sample_pos.size == 0:
        return 0.0
    best = 0.0
    for d in offsets:
        p = sig.position - d  # a query line at q matches a reference line at q + d
        k = np.clip(np.searchsorted(sample_pos, p), 1, sample_pos.size - 1)
        near = np.minimum(np.abs(sample_pos[k] - p), np.abs(sample_pos[k - 1] - p))
        best = max(best, float(sig.weight[near <= bound].sum()))
    return best


def candidates(searcher, sample: _Sample) -> list[int]:
    """Positions into the searcher's 1H index of the candidate entries."""
    with searcher._lock:  # the index the search builds, shared
        if "nmr_1h" not in searcher._nmr:
            from fentid.reference_library.search_nmr import NmrIndex

            searcher._nmr["nmr_1h"] = NmrIndex(searcher.library, "nmr_1h")
    index = searcher._nmr["nmr_1h"]
    keep = sample.peaks.intensity >= 0.005 * sample.peaks.intensity.max()
    pos = np.sort(sample.peaks.position[keep])
    bound = M.SHIFT_BOUND_PPM["1H"][0]
    scored = []
    for k, sig in enumerate(index.signals):
        if sig.n < MIN_SIGNALS or M.canonical_solvent(index.entries[k].get("solvent")) not in (
                sample.solvent, None):
            continue  # another solvent moves signals beyond what a mixture fit allows
        c = _containment(pos, sig, sample.offsets, bound)
        if c >= MIN_CONTAINMENT:
            scored.append((c, k))
    scored.sort(key=lambda t: (-t[0], index.entries[t[1]]["entry_id"]))
    return [k for _, k in scored[:MAX_CANDIDATES]], index


class _Columns:
    """Rendered candidates at the sample's field, cached per (candidate, shift)."""

    def __init__(self, index, picks, sample: _Sample):
        from fentid.curation_nmr import entry_conditions

        self.sample = sample
        self.lines = {}
        for k in picks:
            e = index.entries[k]
            cond = entry_conditions(e)
            pos, inten = index.library_peaks[k]
            lp, li = lines_at_field(pos, inten, e.get("field_mhz"), sample.field,
                                    cond.get("list_kind"), cond.get("multiplicity"))
            self.lines[k] = (lp, li / li.sum() * index.protons[k])
        from fentid.reference_library.catalog import skeleton

        self.skeletons = {k: skeleton(index.entries[k]["inchikey"]) or index.entries[k][
            "compound"] for k in picks}
        self._cache: dict = {}

    def column(self, k: int, shift: float) -> np.ndarray:
        """Candidate ``k`` on the sample's scale: its lines minus ``shift`` (ref - sample)."""
        key = (k, round(shift, 5))
        if key not in self._cache:
            lp, li = self.lines[k]
            col = render(lp - shift, li, self.sample.grid, self.sample.fwhm)
            self._cache[key] = np.where(self.sample.mask, col, 0.0)
        return self._cache[key]

    def design(self, picks, shifts) -> np.ndarray:
        if not picks:
            return np.zeros((self.sample.grid.size, 0))
        return np.column_stack([self.column(k, sh) for k, sh in zip(picks, shifts)])

    def signal_groups(self, k: int, shift: float) -> list[np.ndarray]:
        """Grid masks of the candidate's major signals (lines within MULTIPLET_HZ at the
        sample's field, groups with at least 10 % of its intensity)."""
        lp, li = self.lines[k]
        order = np.argsort(lp)
        lp, li = lp[order] - shift, li[order]
        gap = MULTIPLET_HZ / self.sample.field
        groups, start = [], 0
        for j in range(1, lp.size + 1):
            if j == lp.size or lp[j] - lp[j - 1] > gap:
                groups.append((lp[start], lp[j - 1], li[start:j].sum()))
                start = j
        total = li.sum()
        grid = self.sample.grid
        reach = 3 * self.sample.fwhm
        return [(grid >= lo - reach) & (grid <= hi + reach) & self.sample.mask
                for lo, hi, w in groups if w >= 0.1 * total]


def _fit(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    coef, res = nnls(a, y, maxiter=50 * max(a.shape[1], 1))
    return coef, float(res)


def analyse(component, searcher) -> dict:
    """Decompose one processed 1H spectrum (a :class:`~fentid.components.Component` with its
    spectrum) into library references.

    Returns
    -------
    dict
        ``components`` (compound, entry_id, status, reason, molar_fraction, shift_ppm,
        explained, weakest_signal, predicted, share), ``unexplained`` (residual peaks: ppm,
        relative height), ``unexplained_ppm``, ``unexplained_fraction`` (residual share of
        the sample's positive area), ``offset_ppm`` (added to the sample's axis to reach
        the references' scale), ``offset_source``, ``field_mhz``, ``candidates``.
    """
    from fentid.spectra.nmr_search import hdo_referenced

    spectrum, peaks = component.spectrum, component.peaks
    if spectrum is None or (peaks.nucleus or "") != "1H":
        raise ValueError("mixture analysis needs a processed 1H spectrum")
    sample = _Sample(spectrum, peaks, hdo_referenced(component))
    picks, index = candidates(searcher, sample)
    _prepare_index(index, searcher)
    if not picks:
        return _result(sample, [], np.zeros(sample.grid.size), 0.0, [])
    cols = _Columns(index, picks, sample)
    best = None
    for off in sample.offsets:
        coef, res = _fit(cols.design(picks, [off] * len(picks)), sample.y)
        if best is None or res < best[1] - 1e-12:
            best = (float(off), res, coef)
    offset, _, coef = best
    live = [k for k, c in zip(picks, coef) if c > 0]
    shifts = {k: offset for k in live}
    # per-compound shift, one compound at a time, the others fixed
    steps = np.arange(-COMPOUND_SHIFT_PPM, COMPOUND_SHIFT_PPM + 1e-9, 0.0025)
    for k in live:
        trial = []
        for step in steps:
            cand = {**shifts, k: offset + step}
            res = _fit(cols.design(live, [cand[j] for j in live]), sample.y)[1]
            trial.append((res, abs(step), step))
        shifts[k] = offset + min(trial)[2]
    a = cols.design(live, [shifts[j] for j in live])
    coef, _ = _fit(a, sample.y) if live else (np.zeros(0), 0.0)
    fit = a @ coef if live else np.zeros(sample.grid.size)
    comps = _components(index, live, a, coef, sample, shifts, offset, cols)
    for c in comps:
        c["uniqueness"] = _uniqueness(c, picks, cols, offset)
        c.update(_conclusion(c))
    return _result(sample, comps, fit, offset, picks)


def _uniqueness(c: dict, picks, cols: _Columns, offset: float) -> float:
    """How much of a component's rendered spectrum the *other* candidates (other
    constitutions) cannot reproduce: 1 - (their best NNLS fit of it) / (its norm)."""
    k = c["index_row"]
    target = cols.column(k, c["shift_ppm"] + offset)
    others = [j for j in picks if j != k and cols.skeletons.get(j) != cols.skeletons.get(k)]
    if not others or not target.any():
        return 1.0
    _, res = _fit(cols.design(others, [offset] * len(others)), target)
    return round(float(res / np.linalg.norm(target)), 3)


def _prepare_index(index, searcher) -> None:
    """Per-entry raw peaks and observed-proton counts (once per index)."""
    if hasattr(index, "library_peaks"):
        return
    pos, inten, off = searcher.library.peaks("nmr_1h")
    index.library_peaks = [(pos[off[r]:off[r + 1]].astype(float), inten[off[r]:off[r + 1]])
                           for r in index.rows]
    index.protons = []
    for e in index.entries:
        comp = searcher.library.compound_row(e["compound_id"])
        index.protons.append(observed_protons(comp.get("smiles"), 10.0))


def _components(index, live, a, coef, sample, shifts, offset, cols) -> list[dict]:
    from fentid.curation_nmr import entry_conditions
    from fentid.reference_library.catalog import skeleton

    out = []
    total = float((a @ coef).sum()) or 1.0
    for j, k in enumerate(live):
        if coef[j] <= 0:
            continue
        model = a[:, j] * coef[j]
        others = a @ coef - model
        avail = np.clip(sample.y - others, 0, None)
        explained = float(np.minimum(model, avail).sum() / model.sum()) if model.sum() > 0 \
            else 0.0
        # every major signal of the reference must be in the sample, not just most intensity
        per_signal = [float(np.minimum(model[g], avail[g]).sum() / model[g].sum())
                      for g in cols.signal_groups(k, shifts[k]) if model[g].sum() > 0]
        weakest = min(per_signal) if per_signal else 0.0
        e = index.entries[k]
        cond = entry_conditions(e)
        out.append({"compound": e["compound"], "entry_id": int(e["entry_id"]), "index_row": k,
                    "inchikey": e["inchikey"] or None, "skeleton": skeleton(e["inchikey"]),
                    "explained": round(explained, 3), "weakest_signal": round(weakest, 3),
                    "share": float(model.sum() / total),
                    "amount": float(coef[j]), "shift_ppm": round(shifts[k] - offset, 4),
                    "signals": int(index.signals[k].n),
                    "predicted": bool(cond.get("predicted")),
                    "predictor": cond.get("predictor"), "source": e.get("source")})
    found = [c for c in out if c["explained"] >= MIN_EXPLAINED
             and c["weakest_signal"] >= MIN_SIGNAL_EXPLAINED]
    merged: dict[str, dict] = {}
    for c in sorted(found, key=lambda c: (-c["explained"], c["entry_id"])):
        key = c["skeleton"] or c["compound"]
        if key in merged:
            merged[key]["amount"] += c["amount"]
            merged[key]["share"] += c["share"]
            merged[key]["also"].append(c["compound"])
            if "(stereo" in merged[key]["compound"] and "(stereo" not in c["compound"]:
                merged[key]["compound"] = c["compound"]  # the named entry names the group
            continue
        merged[key] = dict(c, also=[])
    comps = list(merged.values())
    moles = sum(c["amount"] for c in comps) or 1.0
    for c in comps:
        c["molar_fraction"] = c["amount"] / moles
    comps.sort(key=lambda c: -c["molar_fraction"])
    return comps


def _conclusion(c: dict) -> dict:
    name = c["compound"]
    if c["predicted"]:
        return {"status": "tentative", "reason": f"{name} from a predicted reference "
                f"({c.get('predictor') or 'predictor'}) only: at most tentative"}
    if c["signals"] < IDENTIFY_MIN_SIGNALS:
        return {"status": "tentative", "reason": f"{name}: its reference has only "
                f"{c['signals']} signals, too few to name a compound in a mixture"}
    if c["explained"] < IDENTIFY_EXPLAINED or c["weakest_signal"] < IDENTIFY_WEAKEST:
        return {"status": "tentative", "reason": f"{name}: the sample shows "
                f"{c['explained']:.0%} of its reference (needs {IDENTIFY_EXPLAINED:.0%}) and "
                f"{c['weakest_signal']:.0%} of its weakest major signal (needs "
                f"{IDENTIFY_WEAKEST:.0%})"}
    if c["uniqueness"] < MIN_UNIQUENESS:
        return {"status": "tentative", "reason": f"{name}: other library compounds together "
                f"reproduce all but {c['uniqueness']:.0%} of its spectrum (needs "
                f"{MIN_UNIQUENESS:.0%}), so these signals do not single it out"}
    return {"status": "identified", "reason": f"{name}: {c['explained']:.0%} of its reference "
            f"spectrum is in the sample ({c['signals']} signals, shift "
            f"{c['shift_ppm']:+.3f} ppm), {c['molar_fraction']:.0%} of the named components "
            "by moles"}


def _result(sample: _Sample, comps, fit, offset, picks) -> dict:
    from scipy.signal import find_peaks

    resid = np.where(sample.mask, sample.y - fit, 0.0)
    positive = float(np.clip(sample.y, 0, None).sum()) or 1.0
    frac = float(np.clip(resid, 0, None).sum() / positive)
    idx, props = find_peaks(resid, height=UNEXPLAINED_FRACTION,
                            distance=max(1, int(0.01 / (sample.grid[1] - sample.grid[0]))))
    order = np.argsort(-props["peak_heights"])
    unexplained = [{"ppm": round(float(sample.grid[idx[o]]), 3),
                    "relative_height": round(float(props["peak_heights"][o]), 3)}
                   for o in order]
    return {"components": comps, "unexplained": unexplained,
            "unexplained_ppm": sorted(u["ppm"] for u in unexplained),
            "unexplained_fraction": frac, "offset_ppm": round(float(offset), 4),
            "offset_source": sample.offset_source,
            "field_mhz": sample.field, "hdo_referenced": sample.hdo,
            "candidates": len(picks)}


def analyse_file(path, searcher) -> dict:
    """:func:`analyse` of the first processed 1H spectrum of ``path``."""
    from fentid.components import components_of
    from fentid.drivers import read

    comps = [c for c in components_of(read(path)) if c.spectrum is not None
             and c.peaks.nucleus == "1H"]
    if not comps:
        raise ValueError(f"{path}: no 1H spectrum to analyse")
    out = analyse(comps[0], searcher)
    out["sample"] = str(path)
    return out
