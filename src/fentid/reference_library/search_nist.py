"""NIST-factor search over the nominal-mass inverted index (part of ``search``).

Split from :mod:`fentid.reference_library.search` for size; see its module
docstring for the method.  The mixin works on a segment's arrays ``self.a``
(``nominal_*``, ``posting_*``, ``norm_*``) and entry count ``self.n``.
"""

from __future__ import annotations

import numpy as np

from fentid.reference_library.search_mz import ranges as _ranges
from fentid.spectra import scores_ms as sm

_NIST_MODES = {
    "identity": {"reverse": False, "mass_weighted": True, "ratio": True},
    "reverse": {"reverse": True, "mass_weighted": True, "ratio": True},
    "similarity": {"reverse": False, "mass_weighted": False, "ratio": False},
}
_BOUND_SLACK = 1e-6  # relative widening of term1 (float32 postings) so the bound stays a bound


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


def _slices(arr, starts, ends) -> np.ndarray:
    """``arr[s:e]`` for many (s, e), concatenated (copies of contiguous runs)."""
    parts = [arr[s:e] for s, e in zip(starts.tolist(), ends.tolist()) if e > s]
    return np.concatenate(parts) if parts else np.zeros(0, arr.dtype)


def _gather(offsets, entries):
    """Flat positions of the peaks of ``entries`` and their new offsets."""
    starts, ends = offsets[entries], offsets[entries + 1]
    lengths = ends - starts
    new_off = np.concatenate(([0], np.cumsum(lengths)))
    flat = np.arange(new_off[-1]) + np.repeat(starts - new_off[:-1], lengths)
    return flat, new_off



class NistSearchMixin:
    """Identity, reverse and similarity search for a :class:`_Segment`."""

    def nist_search(self, qm, qc, mode: dict, top: int) -> list[tuple[int, float]]:
        """Exact top list of a NIST factor: max-score front end, else scatter + bound."""
        if qm.size == 0 or self.n == 0:
            return []
        self.stats = {"candidates": 0, "evaluated": 0}
        if mode is _NIST_MODES["identity"]:
            found = self._identity_maxscore(qm, qc, top)
            if found is not None:
                return found
        cand, bound = self.term1_bounds(qm, qc, mode)
        if cand.size == 0:
            return []
        self.stats["candidates"] = int(cand.size)
        return self._evaluate(qm, qc, mode, top, cand, bound, np.zeros(0, np.int64), np.zeros(0))

    def term1_bounds(self, qm, qc, mode):
        """Entries sharing a peak with the query and an upper bound of their factor.

        Exact ``term1`` and ``n1`` from the postings; ``term2 <= 1`` and
        ``n2 <= n1 - 1`` give ``MF <= 1000*(n1*term1 + n1 - 1)/(2*n1 - 1) - 0.5``.
        """
        cand, dot, n1, norm_u, norm_l = self._nist_sums(qm, qc, mode)
        denom = norm_u * norm_l
        t1 = np.where(denom > 0, dot * dot / np.where(denom > 0, denom, 1), 0.0)
        t1 = np.minimum(1.0, t1 * (1 + _BOUND_SLACK) + 1e-12)
        if mode["ratio"]:
            raw = 1000.0 * (n1 * t1 + n1 - 1) / (2 * n1 - 1) - 0.5
        else:
            raw = 1000.0 * t1 - 0.5
        return cand, np.maximum(0.0, np.trunc(raw + 1e-6))

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
        coef = m * np.sqrt(c.astype(np.float64))
        sq = a["posting_sqrt"]
        prods = [coef[i] * sq[s:e] for i, (s, e) in enumerate(zip(starts.tolist(),
                                                                    ends.tolist())) if e > s]
        return np.bincount(_slices(a["posting_entry"], starts, ends),
                           weights=np.concatenate(prods) if prods else None, minlength=self.n)

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
        found = self.maxscore_bounds(qm, dot, u0, u_s)
        if found is None:
            return None
        cand, bound = found
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

    def maxscore_bounds(self, qm, dot, u0, u_s):
        """Upper bounds of the identity MF from the heavy peaks' partial dot products.

        Parameters
        ----------
        qm : ndarray of int
            Query masses (ascending).
        dot : ndarray of float, shape (n_entries,)
            ``sum(m*sqrt(Iu*Il))`` over the postings of the heavy query peaks ``E``.
        u0 : float
            ``sum(m*Iu)`` over query peaks with ``Iu > 1`` (a lower bound of ``sum(w1u^2)``).
        u_s : float
            ``sum(m*Iu)`` over the query peaks outside ``E``.

        Returns
        -------
        (candidates, bound) or None
            Entries in the postings of ``E`` and their bounds; every other entry
            has ``MF <= 1000*(1 + u_s/u0)/2 - 0.5``.  None when the stored norm
            table cannot bound this query (lowest mass above the last cut).
        """
        cand = np.flatnonzero(dot)
        cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
        if cut >= NORM_CUTS.size:
            return None
        nl_low = self.a["norm_from_cut"][cut][cand]
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(nl_low > 0, dot[cand] * (1 + _BOUND_SLACK)
                           / np.sqrt(u0 * np.where(nl_low > 0, nl_low, 1)), np.inf)
        cos += np.sqrt(u_s / u0)
        t1 = np.minimum(1.0, cos * cos)
        return cand, np.maximum(0.0, np.trunc(1000.0 * (1 + t1) / 2 - 0.5 + 1e-6))

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
        # contiguous slices per query mass, concatenated: no index arrays, no gathers
        ent = _slices(a["posting_entry"], starts, ends)
        w_q = m_in.astype(np.float64) if mass_weighted else np.ones(m_in.size)
        lengths = ends - starts
        coef = w_q * np.sqrt(c_in)
        sq = a["posting_sqrt"]
        prods = [coef[i] * sq[s:e] for i, (s, e) in enumerate(zip(starts.tolist(),
                                                                    ends.tolist())) if e > s]
        dot = np.bincount(ent, weights=np.concatenate(prods) if prods else None,
                          minlength=self.n)
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
        t_start, t_end = post_off[m_in[big]] + head[m_in[big]], post_off[m_in[big] + 1]
        tw = np.repeat(w_q[big], t_end - t_start)
        norm_l += np.bincount(_slices(a["posting_entry"], t_start, t_end), weights=tw,
                              minlength=self.n)
        if mode["reverse"]:
            norm_u = np.bincount(ent, weights=np.repeat(w_q * c_in, lengths), minlength=self.n)
        else:
            w_all = qm.astype(np.float64) if mass_weighted else np.ones(qm.size)
            norm_u = np.full(self.n, float(np.sum((w_all * qc)[qc > 1])))
            one = ~big
            if np.any(one):
                norm_u += np.bincount(_slices(a["posting_entry"], starts[one], ends[one]),
                                      weights=np.repeat(w_q[one], lengths[one]), minlength=self.n)
        cand = np.flatnonzero(n1 > 0)
        return cand, dot[cand], n1[cand], norm_u[cand], norm_l[cand]

    def nist_many(self, qm, qc, entries, mode, at_least=0.0) -> np.ndarray:
        a = self.a
        flat, off = _gather(a["nominal_offsets"], np.asarray(entries, np.int64))
        return sm.nist_factors_many(qm, qc, a["nominal_mass"][flat],
                                    a["nominal_count"][flat].astype(np.int32), off,
                                    at_least=at_least, **mode)
