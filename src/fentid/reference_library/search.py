"""Fast exact library search: an inverted index over the library's flat peak arrays.

Contract with the library store: the store hands over concatenated peak arrays
(entry ``k`` owns ``mz[offsets[k]:offsets[k+1]]``) and persists whatever
:meth:`SearchIndex.to_arrays` returns (plain numpy arrays, no h5py here).

How it stays fast and exact
---------------------------
* NIST factors (``identity``, ``reverse``, ``similarity``): library spectra are
  preprocessed once (nominal mass, base 999, integer counts) and indexed by
  nominal mass; postings of one mass are sorted by count, so those with count
  1 (which only contribute against an unknown peak > 1) form a tail.  A query
  touches only the postings of its own masses: one vectorised scatter-add
  gives ``sum(w1u*w1l)``, ``n1`` and the norm corrections, hence the exact
  cosine ``term1`` for every candidate.  Because ``term2 <= 1`` and
  ``n2 <= n1 - 1``, ``MF <= 1000*(n1*term1 + n1 - 1)/(2*n1 - 1) - 0.5`` (a true
  upper bound, widened by 1e-6 relative for float round-off).  Candidates are
  then evaluated in full (:func:`~fentid.spectra.scores_ms.nist_factors_many`)
  in decreasing bound order, only while a bound can still beat the current N-th
  best.  Entries sharing no contributing peak score 0 and are never hits.
* ``cosine`` and ``entropy`` (accurate mass): peaks sorted by m/z, one
  tolerance window per query peak (ms_entropy's Flash idea).  When the peaks
  of every spectrum are more than twice the tolerance apart each query peak
  has at most one partner per entry, so a scatter-add of the per-pair terms is
  the exact score.  The entropy view of the library is cleaned like
  ``ms_entropy`` does, once per tolerance, and cached.  Cosine with closer
  peaks falls back to exact pair scoring of the touched candidates.
* Ranking: score descending, then entry index ascending; only scores > 0 are
  hits.  :func:`brute_force_search` scores every entry with the pair functions
  and ranks the same way; the tests compare the two.
* :meth:`SearchIndex.add` appends a segment (cheap: only the new spectra are
  indexed); a search visits every segment and merges their top lists, which is
  exact because each segment's top N contains every global top-N member it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fentid.errors import LibraryError, SpectrumError
from fentid.reference_library import search_mz
from fentid.reference_library.search_mz import entry_ids as _entry_ids
from fentid.reference_library.search_mz import ranges as _ranges
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList

ALGORITHMS = ("identity", "reverse", "similarity", "cosine", "entropy")
INDEX_FORMAT = 1  # bump when the arrays of to_arrays() change meaning
_NIST_MODES = {
    "identity": {"reverse": False, "mass_weighted": True, "ratio": True},
    "reverse": {"reverse": True, "mass_weighted": True, "ratio": True},
    "similarity": {"reverse": False, "mass_weighted": False, "ratio": False},
}
_BOUND_SLACK = 1e-6  # relative widening of term1 (float32 postings) so the bound stays a bound


@dataclass(frozen=True)
class Hit:
    """One search hit.

    Attributes
    ----------
    entry_index : int
        0-based position of the entry in the library's flat arrays.
    score : float
        Score of the requested algorithm (NIST factors 0..999, cosine and entropy 0..1).
    mf, rmf : float
        NIST identity and reverse match factors of the query against this entry.
    """

    entry_index: int
    score: float
    mf: float
    rmf: float


def _check_flat(mz, intensity, offsets):
    try:
        mz = np.ascontiguousarray(mz, dtype=np.float64)
        intensity = np.ascontiguousarray(intensity, dtype=np.float64)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise LibraryError(f"library peak arrays are not numeric: {exc}") from exc
    if mz.ndim != 1 or mz.shape != intensity.shape:
        raise LibraryError("library m/z and intensity arrays must be 1-D and equally long")
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != mz.size:
        raise LibraryError("library offsets must start at 0 and end at the number of peaks")
    if np.any(np.diff(offsets) < 0):
        raise LibraryError("library offsets must be non-decreasing")
    if not (np.all(np.isfinite(mz)) and np.all(np.isfinite(intensity))):
        raise LibraryError("library peaks must be finite")
    if np.any(intensity < 0):
        raise LibraryError("library intensities must not be negative")
    return mz, intensity, offsets


def _gather(offsets, entries):
    """Flat positions of the peaks of ``entries`` and their new offsets."""
    starts, ends = offsets[entries], offsets[entries + 1]
    lengths = ends - starts
    new_off = np.concatenate(([0], np.cumsum(lengths)))
    flat = np.arange(new_off[-1]) + np.repeat(starts - new_off[:-1], lengths)
    return flat, new_off


def _sort_entries_within(mz, intensity, offsets):
    """Sort peaks by m/z within each entry (stable), leaving entries in place."""
    ent = _entry_ids(offsets)
    if mz.size < 2 or not np.any((np.diff(mz) < 0) & (ent[1:] == ent[:-1])):
        return mz, intensity
    order = np.lexsort((mz, ent))
    return mz[order], intensity[order]


class _Segment:
    """An immutable slice of the library with its own inverted indexes."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.a = arrays
        self.n = int(arrays["offsets"].size - 1)
        self._cache: dict = {}
        self.stats: dict = {}

    # -- construction -----------------------------------------------------------
    @classmethod
    def build(cls, mz, intensity, offsets) -> _Segment:
        mz, intensity, offsets = _check_flat(mz, intensity, offsets)
        mz, intensity = _sort_entries_within(mz, intensity, offsets)
        n = offsets.size - 1
        ent = _entry_ids(offsets)
        nom = sm.nominal_mass(mz)
        if nom.size and nom.min() < 0:
            raise LibraryError("library m/z values must be positive")
        # NIST nominal view, vectorised over entries: peaks are sorted within entries,
        # so equal (entry, nominal mass) peaks are adjacent and summed with reduceat
        first = np.ones(nom.size, bool)
        first[1:] = (ent[1:] != ent[:-1]) | (nom[1:] != nom[:-1])
        starts = np.flatnonzero(first)
        summed = np.add.reduceat(intensity, starts) if starts.size else np.zeros(0)
        kent, kmass = ent[starts], nom[starts]
        del first, nom, ent
        top = np.zeros(n)
        if kent.size:
            entry_start = np.flatnonzero(np.r_[True, kent[1:] != kent[:-1]])
            top[kent[entry_start]] = np.maximum.reduceat(summed, entry_start)
        with np.errstate(divide="ignore", invalid="ignore"):
            counts = np.floor(summed / top[kent] * sm.NIST_BASE + 0.5)
        counts = np.where(np.isfinite(counts), counts, 0).astype(np.int64)
        keep = counts > 0
        kent, kmass, counts = kent[keep], kmass[keep], counts[keep]
        noff = np.concatenate(([0], np.cumsum(np.bincount(kent, minlength=n)))).astype(np.int64)
        # inverted index: by mass, then count descending (count-1 tail), then entry;
        # kent is already ascending, so one stable sort on (mass, -count) suffices
        order = np.argsort(kmass * 1024 + (1023 - counts), kind="stable")
        size = int(kmass.max(initial=0)) + 2
        post_off = np.concatenate(([0], np.cumsum(np.bincount(kmass, minlength=size))))
        head = np.bincount(kmass[counts > 1], minlength=size)
        big = counts > 1
        mass_f = kmass.astype(np.float64)
        arrays = {
            "mz": mz, "intensity": intensity, "offsets": offsets,
            "nominal_mass": kmass.astype(np.int32), "nominal_count": counts.astype(np.int16),
            "nominal_offsets": noff,
            "posting_offsets": post_off.astype(np.int64), "posting_head": head.astype(np.int64),
            "posting_entry": kent[order].astype(np.int32),
            "posting_count": counts[order].astype(np.int16),
            "posting_sqrt": np.sqrt(counts[order]).astype(np.float32),
            "norm_mass": np.bincount(kent[big], weights=(mass_f * counts)[big], minlength=n),
            "norm_plain": np.bincount(kent[big], weights=counts[big].astype(float), minlength=n),
            "norm_from_cut": _norm_from_cuts(kent[big], kmass[big], counts[big], n),
        }
        return cls(arrays)

    def sorted_view(self) -> dict[str, np.ndarray]:
        """Positive peaks sorted by m/z across entries (built on first accurate-mass use)."""
        if "sorted" not in self._cache:
            self._cache["sorted"] = search_mz.sorted_mz_view(self.a["mz"], self.a["intensity"],
                                                             self.a["offsets"])
        return self._cache["sorted"]

    # -- NIST factors ------------------------------------------------------------
    def nist_search(self, qm, qc, mode: dict, top: int) -> list[tuple[int, float]]:
        """Exact top list of a NIST factor: max-score front end, else scatter + bound."""
        if qm.size == 0 or self.n == 0:
            return []
        self.stats = {"candidates": 0, "evaluated": 0}
        if mode is _NIST_MODES["identity"]:
            found = self._identity_maxscore(qm, qc, top)
            if found is not None:
                return found
        cand, dot, n1, norm_u, norm_l = self._nist_sums(qm, qc, mode)
        if cand.size == 0:
            return []
        denom = norm_u * norm_l
        t1 = np.where(denom > 0, dot * dot / np.where(denom > 0, denom, 1), 0.0)
        t1 = np.minimum(1.0, t1 * (1 + _BOUND_SLACK) + 1e-12)
        if mode["ratio"]:
            raw = 1000.0 * (n1 * t1 + n1 - 1) / (2 * n1 - 1) - 0.5
        else:
            raw = 1000.0 * t1 - 0.5
        bound = np.maximum(0.0, np.trunc(raw + 1e-6))
        self.stats["candidates"] = int(cand.size)
        return self._evaluate(qm, qc, mode, top, cand, bound, np.zeros(0, np.int64), np.zeros(0))

    def _evaluate(self, qm, qc, mode, top, cand, bound, best_idx, best_score):
        """Score candidates in full, best bound first, while a bound can still enter the top."""
        alive = bound > 0
        cand, bound = cand[alive], bound[alive]
        batch = max(64, 4 * top)
        if np.count_nonzero(best_score > 0) < top and cand.size > 16 * batch:
            # seed the top list with the best bounds, so the rest can be filtered unsorted
            first = np.argpartition(-bound, batch - 1)[:batch]
            rest = np.ones(cand.size, bool)
            rest[first] = False
            best_idx = np.concatenate((best_idx, cand[first]))
            best_score = np.concatenate((best_score, self.nist_many(qm, qc, cand[first], mode)))
            self.stats["evaluated"] = self.stats.get("evaluated", 0) + batch
            cand, bound = cand[rest], bound[rest]
        scored = best_score > 0
        if np.count_nonzero(scored) >= top:
            tau = np.sort(best_score[scored])[::-1][top - 1]
            can = bound >= tau  # sorting a million bounds costs more than this filter
            cand, bound = cand[can], bound[can]
        # bound descending, then entry ascending, via one integer key
        order = np.argsort((999 - bound.astype(np.int64)) * (1 << 32) + cand, kind="stable")
        cand, bound = cand[order], bound[order]
        pos = 0
        while True:
            keep = best_score > 0
            best_idx, best_score = best_idx[keep], best_score[keep]
            rank = np.lexsort((best_idx, -best_score))[:top]
            best_idx, best_score = best_idx[rank], best_score[rank]
            if best_idx.size == top:
                tau, worst = best_score[-1], best_idx[best_score == best_score[-1]].max()
                rest_c, rest_b = cand[pos:], bound[pos:]
                can = (rest_b > tau) | ((rest_b == tau) & (rest_c < worst))
                cand, bound, pos = rest_c[can], rest_b[can], 0
            if pos >= cand.size:
                break
            take = cand[pos:pos + batch]
            pos += take.size
            self.stats["evaluated"] = self.stats.get("evaluated", 0) + int(take.size)
            tau_now = float(best_score[-1]) if best_idx.size == top else 0.0
            best_idx = np.concatenate((best_idx, take))
            best_score = np.concatenate((best_score,
                                         self.nist_many(qm, qc, take, mode, at_least=tau_now)))
            batch *= 2
        return list(zip(best_idx.tolist(), best_score.tolist()))

    def _scatter_dot(self, qm, qc, peaks) -> np.ndarray:
        """sum(m*sqrt(Iu*Il)) per entry over all postings of the chosen query peaks."""
        a = self.a
        post_off = a["posting_offsets"]
        m = qm[peaks]
        m = m[m < post_off.size - 1]
        c = qc[peaks][qm[peaks] < post_off.size - 1]
        starts, ends = post_off[m], post_off[m + 1]
        flat = _ranges(starts, ends)
        coef = np.repeat(m * np.sqrt(c.astype(np.float64)), ends - starts)
        return np.bincount(a["posting_entry"][flat], weights=coef * a["posting_sqrt"][flat],
                           minlength=self.n)

    def _identity_maxscore(self, qm, qc, top):
        """Identity MF top list touching only the postings of the heaviest query peaks.

        With ``U0 = sum(m*Iu, Iu > 1) <= sum(w1u^2)`` and ``S`` the lighter query
        peaks, Cauchy-Schwarz gives ``cos <= dot_E / sqrt(U0 * Nl) + sqrt(U_S / U0)``
        (``dot_E`` over the heavier peaks ``E``, ``Nl`` the library norm, bounded
        below per entry by a stored table), and ``MF <= 1000*(1 + cos^2)/2 - 0.5``.
        A first pass over the heaviest peaks scores a few promising entries to get
        the N-th best factor ``tau``; then ``E`` is grown until entries outside its
        postings cannot reach ``tau``.  Returns None when no pruning is possible.
        """
        a = self.a
        weight = qm.astype(np.float64) * qc
        u0 = float(weight[qc > 1].sum())
        if u0 <= 0:
            return None
        order = np.argsort(-weight, kind="stable")
        rest = weight.sum() - np.cumsum(weight[order])  # U_S once the first j+1 are in E
        j1 = int(np.searchsorted(-rest, -0.5 * u0, side="left"))  # rest <= U0/2
        dot = self._scatter_dot(qm, qc, order[:j1 + 1])
        touched = np.flatnonzero(dot)
        if touched.size == 0:
            return None
        proxy = dot[touched] / np.sqrt(np.maximum(a["norm_mass"][touched], 1.0))
        k = min(touched.size, max(64, 4 * top))
        picked = touched[np.argpartition(-proxy, k - 1)[:k]]
        picked_score = self.nist_many(qm, qc, picked, _NIST_MODES["identity"])
        self.stats["evaluated"] = int(picked.size)
        if np.count_nonzero(picked_score > 0) < top:
            return None
        tau = float(np.sort(picked_score)[::-1][top - 1])
        t_min = (2 * (tau + 0.5 - 1e-9) / 1000 - 1) * (1 - _BOUND_SLACK) - 1e-12
        if t_min <= 0:
            return None
        below = rest < t_min * u0
        if not np.any(below):
            return None
        j = int(np.argmax(below))
        # when the threshold is low E holds most postings: the plain scatter is cheaper
        post_len = np.diff(a["posting_offsets"])
        lengths = np.where(qm < post_len.size, post_len[np.minimum(qm, post_len.size - 1)], 0)
        if lengths[order[:j + 1]].sum() > 0.4 * lengths.sum():
            return None
        if j > j1:
            dot = dot + self._scatter_dot(qm, qc, order[j1 + 1:j + 1])
        u_s = max(float(rest[max(j, j1)]), 0.0)
        cand = np.flatnonzero(dot)
        cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
        if cut >= NORM_CUTS.size:
            return None
        nl_low = a["norm_from_cut"][cut][cand]
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(nl_low > 0, dot[cand] * (1 + _BOUND_SLACK)
                           / np.sqrt(u0 * np.where(nl_low > 0, nl_low, 1)), np.inf)
        cos += np.sqrt(u_s / u0)
        t1 = np.minimum(1.0, cos * cos)
        bound = np.maximum(0.0, np.trunc(1000.0 * (1 + t1) / 2 - 0.5 + 1e-6))
        # a loose bound leaves many rows to score in full; the exact-term1 scatter over
        # all postings of the query is then cheaper (rows cost ~4x a posting)
        survivors = int(np.count_nonzero(bound >= tau))
        row_len = a["nominal_mass"].size / max(self.n, 1)
        if 4 * survivors * row_len > lengths.sum():
            return None
        seen = np.zeros(self.n, bool)
        seen[picked] = True
        fresh = ~seen[cand]
        self.stats["candidates"] = int(cand.size)
        return self._evaluate(qm, qc, _NIST_MODES["identity"], top, cand[fresh], bound[fresh],
                              picked.astype(np.int64), picked_score)

    def _nist_sums(self, qm, qc, mode):
        """Scatter-add over the postings of the query masses: exact term1 inputs."""
        a = self.a
        post_off, head = a["posting_offsets"], a["posting_head"]
        size = post_off.size - 1
        mass_weighted = mode["mass_weighted"]
        inside = qm < size
        m_in, c_in = qm[inside], qc[inside]
        starts = post_off[m_in]
        ends = np.where(c_in > 1, post_off[m_in + 1], starts + head[m_in])
        flat = _ranges(starts, ends)
        ent = a["posting_entry"][flat]
        w_q = m_in.astype(np.float64) if mass_weighted else np.ones(m_in.size)
        lengths = ends - starts
        coef = np.repeat(w_q * np.sqrt(c_in), lengths)
        dot = np.bincount(ent, weights=coef * a["posting_sqrt"][flat], minlength=self.n)
        n1 = np.bincount(ent, minlength=self.n).astype(np.float64)
        # library norm: all its peaks > 1 at or above the unknown's lowest mass ...
        qmin = int(qm[0])
        if mass_weighted:
            # start from the stored norm above the nearest cut below qmin, subtract the rest
            k = int(np.searchsorted(NORM_CUTS, qmin, side="right")) - 1
            norm_l = a["norm_from_cut"][k].copy()
            low = np.arange(min(int(NORM_CUTS[k]), size), min(qmin, size))
        else:
            norm_l = a["norm_plain"].copy()
            low = np.arange(0, min(qmin, size))
        if low.size:
            lf = _ranges(post_off[low], post_off[low] + head[low])
            lm = np.repeat(low.astype(np.float64) if mass_weighted else np.ones(low.size),
                           head[low])
            norm_l -= np.bincount(a["posting_entry"][lf],
                                  weights=lm * a["posting_count"][lf], minlength=self.n)
        # ... plus its count-1 peaks matched by an unknown peak > 1
        big = c_in > 1
        tf = _ranges(post_off[m_in[big]] + head[m_in[big]], post_off[m_in[big] + 1])
        tw = np.repeat(w_q[big], post_off[m_in[big] + 1] - post_off[m_in[big]] - head[m_in[big]])
        norm_l += np.bincount(a["posting_entry"][tf], weights=tw, minlength=self.n)
        if mode["reverse"]:
            norm_u = np.bincount(ent, weights=np.repeat(w_q * c_in, lengths), minlength=self.n)
        else:
            w_all = qm.astype(np.float64) if mass_weighted else np.ones(qm.size)
            norm_u = np.full(self.n, float(np.sum((w_all * qc)[qc > 1])))
            one = ~big
            if np.any(one):
                of = _ranges(starts[one], ends[one])
                norm_u += np.bincount(a["posting_entry"][of],
                                      weights=np.repeat(w_q[one], lengths[one]), minlength=self.n)
        cand = np.flatnonzero(n1 > 0)
        return cand, dot[cand], n1[cand], norm_u[cand], norm_l[cand]

    def nist_many(self, qm, qc, entries, mode, at_least=0.0) -> np.ndarray:
        a = self.a
        flat, off = _gather(a["nominal_offsets"], np.asarray(entries, np.int64))
        return sm.nist_factors_many(qm, qc, a["nominal_mass"][flat],
                                    a["nominal_count"][flat].astype(np.int32), off,
                                    at_least=at_least, **mode)

    # -- accurate-mass scores (fentid.reference_library.search_mz) ----------------
    def cosine_scores(self, query, a_pow, b_pow, tol_da, tol_ppm, matching):
        return search_mz.cosine_scores(self, query, a_pow, b_pow, tol_da, tol_ppm, matching)

    def entropy_scores(self, query, tol_da, tol_ppm, weighted, noise):
        return search_mz.entropy_scores(self, query, tol_da, tol_ppm, weighted, noise)


#: Masses at which the per-entry library norm sum(m*I, I > 1, m >= cut) is stored
#: (a lower bound of the norm over masses >= the unknown's lowest mass).
NORM_CUTS = np.array([0, 20, 27, 30, 33, 36, 39, 40, 41, 42, 43, 45, 50, 55, 60, 70, 80,
                      100, 125, 150, 200], np.int64)


def _norm_from_cuts(ent, mass, counts, n) -> np.ndarray:
    """``table[k, e] = sum(m*I)`` over entry ``e``'s peaks with ``m >= NORM_CUTS[k]``."""
    bucket = np.searchsorted(NORM_CUTS, mass, side="right") - 1
    cells = np.bincount(ent * NORM_CUTS.size + bucket,
                        weights=mass.astype(np.float64) * counts,
                        minlength=n * NORM_CUTS.size).reshape(n, NORM_CUTS.size)
    # cut-major, so the column a query needs is contiguous
    return np.ascontiguousarray(np.cumsum(cells[:, ::-1], axis=1)[:, ::-1].T)


def _query_params(algorithm: str, params: dict) -> dict:
    """Validate and complete the keyword parameters of a search."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    allowed = {"cosine": {"tolerance_da", "tolerance_ppm", "preset", "mz_power",
                          "intensity_power", "matching"},
               "entropy": {"tolerance_da", "tolerance_ppm", "weighted", "noise_threshold"}}
    unknown = set(params) - allowed.get(algorithm, set())
    if unknown:
        raise TypeError(f"{algorithm} search does not take {sorted(unknown)}")
    out = dict(params)
    if algorithm in ("cosine", "entropy"):
        default_da = 0.5 if algorithm == "cosine" else 0.02
        tol_da, tol_ppm = sm._tolerance(out.get("tolerance_da", default_da),
                                        out.get("tolerance_ppm"))
        out["tolerance_da"], out["tolerance_ppm"] = tol_da, tol_ppm
    if algorithm == "cosine":
        out["powers"] = sm._cosine_powers(out.get("preset", "sqrt"), out.get("mz_power"),
                                          out.get("intensity_power"))
        out.setdefault("matching", "greedy")
    if algorithm == "entropy":
        out.setdefault("weighted", True)
        out.setdefault("noise_threshold", 0.01)
    return out


def _rank(idx, score, top):
    """The ``top`` best (score descending, entry ascending) among scores > 0."""
    idx, score = np.asarray(idx, np.int64), np.asarray(score, np.float64)
    keep = score > 0
    idx, score = idx[keep], score[keep]
    if score.size > 4 * top:
        # keep everything tying with the top-th score, then sort only those
        kth = np.partition(score, score.size - top)[score.size - top]
        sel = score >= kth
        idx, score = idx[sel], score[sel]
    order = np.lexsort((idx, -score))[:top]
    return idx[order], score[order]


def _check_query(query) -> PeakList:
    if not isinstance(query, PeakList):
        raise SpectrumError(f"a search query must be a PeakList, not {type(query).__name__}")
    if query.technique != "ms":
        raise SpectrumError("MS library search needs an MS peak list (technique 'ms')")
    if np.any(query.intensity < 0):
        raise SpectrumError("negative intensities cannot be scored")
    return query


class SearchIndex:
    """Exact, fast one-against-library search over flat peak arrays.

    Build with :meth:`build`, persist with :meth:`to_arrays` /
    :meth:`from_arrays`, extend with :meth:`add`, query with :meth:`search`.
    """

    def __init__(self, segments: list[_Segment]):
        self._segments = list(segments)
        #: NIST searches: library entries sharing a peak with the last query
        #: ("candidates") and how many were scored in full ("evaluated").
        self.last_stats: dict[str, int] = {}
        self._starts = np.concatenate(([0], np.cumsum([s.n for s in self._segments]))).astype(int)

    @property
    def n_entries(self) -> int:
        """Number of library spectra indexed."""
        return int(self._starts[-1])

    def __len__(self) -> int:
        return self.n_entries

    @classmethod
    def build(cls, mz, intensity, offsets) -> SearchIndex:
        """Index library spectra given as concatenated arrays.

        Parameters
        ----------
        mz, intensity : array_like of float, shape (p,)
            Peaks of all entries, concatenated (m/z; intensities >= 0).
        offsets : array_like of int, shape (n + 1,)
            Entry ``k`` owns ``[offsets[k], offsets[k+1])``.

        Raises
        ------
        LibraryError
            Arrays inconsistent, non-finite or negative.
        """
        return cls([_Segment.build(mz, intensity, offsets)])

    def add(self, mz, intensity, offsets) -> SearchIndex:
        """A new index with more entries appended (indexes only the new spectra)."""
        return SearchIndex(self._segments + [_Segment.build(mz, intensity, offsets)])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to restore the index, as plain arrays (segments merged)."""
        seg = self._segments[0] if len(self._segments) == 1 else self._merged()
        out = {k: np.asarray(v) for k, v in seg.a.items()}
        out["index_format"] = np.array([INDEX_FORMAT], np.int64)
        return out

    def _merged(self) -> _Segment:
        mz = np.concatenate([s.a["mz"] for s in self._segments])
        inten = np.concatenate([s.a["intensity"] for s in self._segments])
        counts = np.concatenate([np.diff(s.a["offsets"]) for s in self._segments])
        return _Segment.build(mz, inten, np.concatenate(([0], np.cumsum(counts))))

    @classmethod
    def from_arrays(cls, mapping) -> SearchIndex:
        """Restore an index saved with :meth:`to_arrays`.

        Raises
        ------
        LibraryError
            Missing arrays, unknown index format or inconsistent sizes.
        """
        needed = ("mz", "intensity", "offsets", "nominal_mass", "nominal_count",
                  "nominal_offsets", "posting_offsets", "posting_head", "posting_entry",
                  "posting_count", "posting_sqrt", "norm_mass", "norm_plain", "norm_from_cut",
                  "index_format")
        missing = [k for k in needed if k not in mapping]
        if missing:
            raise LibraryError(f"search index is missing arrays: {', '.join(missing)}")
        fmt = int(np.asarray(mapping["index_format"]).ravel()[0])
        if fmt != INDEX_FORMAT:
            raise LibraryError(f"search index format {fmt} is not supported (this version "
                               f"reads format {INDEX_FORMAT}); rebuild the index")
        arrays = {k: np.asarray(mapping[k]) for k in needed if k != "index_format"}
        _check_flat(arrays["mz"], arrays["intensity"], arrays["offsets"])
        n = arrays["offsets"].size - 1
        p = arrays["nominal_mass"].size
        consistent = (arrays["nominal_offsets"].size == n + 1
                      and arrays["nominal_offsets"][-1] == p
                      and arrays["nominal_count"].size == p
                      and arrays["posting_entry"].size == p
                      and arrays["posting_offsets"][-1] == p
                      and arrays["norm_mass"].size == n and arrays["norm_plain"].size == n
                      and arrays["norm_from_cut"].shape == (NORM_CUTS.size, n))
        if not consistent:
            raise LibraryError("search index arrays disagree in size; rebuild the index")
        return cls([_Segment(arrays)])

    def search(self, query: PeakList, algorithm: str = "identity", top: int = 10,
               **params) -> list[Hit]:
        """The best ``top`` library entries for ``query``.

        Parameters
        ----------
        query : PeakList
            MS peaks (m/z, intensity).
        algorithm : {"identity", "reverse", "similarity", "cosine", "entropy"}
            NIST identity/reverse match factor, NIST simple similarity, weighted
            cosine or entropy similarity.
        top : int
            Number of hits.
        **params
            cosine: ``tolerance_da`` (default 0.5) or ``tolerance_ppm``, ``preset``
            ("sqrt"), ``mz_power``, ``intensity_power``, ``matching``;
            entropy: ``tolerance_da`` (0.02) or ``tolerance_ppm``, ``weighted``
            (True), ``noise_threshold`` (0.01).

        Returns
        -------
        list of Hit
            Score descending, then entry index ascending; scores > 0 only.
            Equal to :func:`brute_force_search`.
        """
        query = _check_query(query)
        p = _query_params(algorithm, params)
        top = int(top)
        if top < 1:
            raise ValueError("top must be at least 1")
        qm, qc = sm.nist_preprocess(query.position, query.intensity)
        all_idx, all_score = [], []
        self.last_stats = {"candidates": 0, "evaluated": 0}
        for start, seg in zip(self._starts[:-1], self._segments):
            if algorithm in _NIST_MODES:
                seg.stats = {}
                found = seg.nist_search(qm, qc, _NIST_MODES[algorithm], top)
                for key, value in seg.stats.items():
                    self.last_stats[key] += value
                idx = np.array([f[0] for f in found], np.int64)
                score = np.array([f[1] for f in found])
            elif algorithm == "cosine":
                idx, score = seg.cosine_scores(query, *p["powers"], p["tolerance_da"],
                                               p["tolerance_ppm"], p["matching"])
            else:
                idx, score = seg.entropy_scores(query, p["tolerance_da"], p["tolerance_ppm"],
                                                p["weighted"], p["noise_threshold"])
            idx, score = _rank(idx, score, top)
            all_idx.append(idx + start)
            all_score.append(score)
        idx, score = _rank(np.concatenate(all_idx), np.concatenate(all_score), top)
        return self._hits(qm, qc, idx, score)

    def _hits(self, qm, qc, idx, score) -> list[Hit]:
        seg_of = np.searchsorted(self._starts, idx, side="right") - 1
        mf = np.zeros(idx.size)
        rmf = np.zeros(idx.size)
        for s in np.unique(seg_of):
            sel = seg_of == s
            local = idx[sel] - self._starts[s]
            mf[sel] = self._segments[s].nist_many(qm, qc, local, _NIST_MODES["identity"])
            rmf[sel] = self._segments[s].nist_many(qm, qc, local, _NIST_MODES["reverse"])
        return [Hit(int(i), float(sc), float(a), float(b))
                for i, sc, a, b in zip(idx, score, mf, rmf)]

    def entry(self, k: int) -> PeakList:
        """Library entry ``k`` as a PeakList (as indexed: sorted by m/z)."""
        s = int(np.searchsorted(self._starts, k, side="right") - 1)
        if not 0 <= k < self.n_entries:
            raise IndexError(f"entry {k} is outside the library (0..{self.n_entries - 1})")
        a, local = self._segments[s].a, k - self._starts[s]
        lo, hi = a["offsets"][local], a["offsets"][local + 1]
        return PeakList(a["mz"][lo:hi], a["intensity"][lo:hi])


def brute_force_search(query: PeakList, mz, intensity, offsets, algorithm: str = "identity",
                       top: int = 10, **params) -> list[Hit]:
    """Reference search: score every entry with the pair functions, rank as the index does.

    Parameters are those of :meth:`SearchIndex.search`, with the library as
    concatenated arrays.  Slow (a Python loop over entries); for tests and
    benchmarks.
    """
    query = _check_query(query)
    p = _query_params(algorithm, params)
    mz, intensity, offsets = _check_flat(mz, intensity, offsets)
    mz, intensity = _sort_entries_within(mz, intensity, offsets)
    refs = [PeakList(mz[offsets[k]:offsets[k + 1]], intensity[offsets[k]:offsets[k + 1]])
            for k in range(offsets.size - 1)]
    if algorithm == "cosine":
        a_pow, b_pow = p["powers"]
        tol_ppm = p["tolerance_ppm"] if p["tolerance_ppm"] > 0 else None
        def score(r):
            return sm.weighted_cosine(query, r, mz_power=a_pow, intensity_power=b_pow,
                                      preset=None, tolerance_da=p["tolerance_da"],
                                      tolerance_ppm=tol_ppm, matching=p["matching"])
    elif algorithm == "entropy":
        tol_ppm = p["tolerance_ppm"] if p["tolerance_ppm"] > 0 else None
        def score(r):
            return sm.entropy_similarity(query, r, tolerance_da=p["tolerance_da"],
                                         tolerance_ppm=tol_ppm, weighted=p["weighted"],
                                         noise_threshold=p["noise_threshold"])
    else:
        pair = {"identity": sm.identity_match_factor, "reverse": sm.reverse_match_factor,
                "similarity": sm.similarity_factor}[algorithm]

        def score(r):
            return pair(query, r)
    scores = np.array([score(r) for r in refs])
    idx, sc = _rank(np.arange(len(refs)), scores, int(top))
    return [Hit(int(i), float(s), sm.identity_match_factor(query, refs[i]),
                sm.reverse_match_factor(query, refs[i])) for i, s in zip(idx, sc)]
