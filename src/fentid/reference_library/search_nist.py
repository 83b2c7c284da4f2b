"""NIST-factor search over the nominal-mass inverted index (part of ``search``).

Split from :mod:`fentid.reference_library.search` for size; see its module
docstring for the method.  The mixin works on a segment's arrays ``self.a``
(``nominal_*``, ``posting_*``, ``norm_*``) and entry count ``self.n``.
"""

from __future__ import annotations

import numpy as np

from fentid.reference_library.search_ball import SEED_SCORED, BallQuery
from fentid.spectra import nist_kernels as nk

_NIST_MODES = {
    "identity": {"reverse": False, "mass_weighted": True, "ratio": True},
    "reverse": {"reverse": True, "mass_weighted": True, "ratio": True},
    "similarity": {"reverse": False, "mass_weighted": False, "ratio": False},
}
_BOUND_SLACK = 1e-6  # relative widening of term1 (float32 postings) so the bound stays a bound
_ROW_COST = 2.0
_BALL_OPEN_MAX = 0.5  # fraction of the library whose members may be bounded one by one
_BALL_CAND_MAX = 0.05  # fraction of the library that may be scored in full after them
#: Cost model.  An N-th best factor below this cannot be pruned by the identity/reverse
#: bounds (they never fall below ~500 where term1 is low), so the search scans at once.
_SCAN_BELOW_TAU = 520.0
#: ... in segments up to this size only: in bigger ones the seed's N-th best (from ~200
#: entries) underestimates the final one, and pruning still pays (measured at 10k / 100k)
_SEED_SCAN_MAX_ENTRIES = 20_000
#: More candidates than this fraction of the library left to score in bound order:
#: the threshold scan (sequential rows) is cheaper than scoring them scattered.
_SCAN_SHARE = 0.4
#: Libraries this small are scanned (the pruning set-up costs more than it saves).
_SCAN_MAX_ENTRIES = 2_000
_SCAN_BLOCK = 8192  # rows per block of the threshold scan
#: Segments above this size skip the postings path (the exact-term1 scatter over every
#: posting of the query's masses) for the scan: its n-sized sums no longer fit in cache.
#: Measured: similarity top-50 at 1M 0.5-0.7x the scan through postings; at 100k the
#: postings path was up to 1.5x faster than the scan (6 queries of each kind).
_POSTINGS_MAX_ENTRIES = 500_000


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


class NistSearchMixin:
    """Identity, reverse and similarity search for a :class:`_Segment`."""

    def nist_search(self, qm, qc, mode: dict, top: int) -> list[tuple[int, float]]:
        """Exact top list of a NIST factor: max-score front end, else scatter + bound."""
        if qm.size == 0 or self.n == 0:
            return []
        self.stats = {"candidates": 0, "evaluated": 0, "path": "balls"}
        if self.n <= max(_SCAN_MAX_ENTRIES, 4 * top):
            return self.threshold_scan(qm, qc, mode, top)
        if mode is _NIST_MODES["identity"]:
            found = self._identity_balls(qm, qc, top)
            if found is None and self._seed_says_scan():
                return self.threshold_scan(qm, qc, mode, top, self.stats["seed_tau"])
            if found is None:
                self.stats["path"] = "maxscore"
                found = self._identity_maxscore(qm, qc, top)
            if found is not None:
                return found
        if mode is _NIST_MODES["reverse"]:
            found = self._reverse_balls(qm, qc, top)
            if found is None and self._seed_says_scan():
                return self.threshold_scan(qm, qc, mode, top, self.stats["seed_tau"])
            if found is not None:
                return found
        if self.n > _POSTINGS_MAX_ENTRIES:
            return self.threshold_scan(qm, qc, mode, top, self.stats.get("seed_tau", 0.0))
        self.stats["path"] = "postings"
        cand, bound = self.term1_bounds(qm, qc, mode)
        if cand.size == 0:
            return []
        self.stats["candidates"] = int(cand.size)
        return self._evaluate(qm, qc, mode, top, cand, bound, np.zeros(0, np.int64), np.zeros(0))

    def _seed_says_scan(self) -> bool:
        """The ball seed's N-th best factor (a lower bound of the final one) is too low
        for any bound to prune: every further step would score the library anyway."""
        tau = self.stats.get("seed_tau")
        return tau is None or (tau < _SCAN_BELOW_TAU and self.n <= _SEED_SCAN_MAX_ENTRIES)

    def threshold_scan(self, qm, qc, mode, top, tau0=0.0) -> list[tuple[int, float]]:
        """Every entry scored with the compiled walk, in blocks, with a rising threshold.

        Rows are scored in entry order with ``at_least`` = the N-th best factor so far
        (at least ``tau0``, a known lower bound of the final N-th best): an entry whose
        cosine sums already bound it below that skips the ratio walk and is reported 0.
        Exact: such an entry scores below the final N-th best and cannot be a hit.
        """
        self.stats["path"] = "scan"
        tables = nk.query_tables(qm, qc, mode["reverse"], mode["mass_weighted"])
        a = self.a
        tau = float(tau0)
        keep_idx, keep_score = [np.zeros(0, np.int64)], [np.zeros(0)]
        held = 0
        for start in range(0, self.n, _SCAN_BLOCK):
            rows = np.arange(start, min(self.n, start + _SCAN_BLOCK), dtype=np.int64)
            sc = nk.score_entries(tables, a["nominal_mass"], a["nominal_count"],
                                  a["nominal_offsets"], rows, mode["reverse"],
                                  mode["mass_weighted"], mode["ratio"], tau)
            hit = np.flatnonzero(sc > 0)
            keep_idx.append(rows[hit])
            keep_score.append(sc[hit])
            held += hit.size
            if held >= top:
                score = np.concatenate(keep_score)
                tau = max(tau, float(np.partition(score, score.size - top)[score.size - top]))
                sel = score >= tau
                keep_idx = [np.concatenate(keep_idx)[sel]]
                keep_score = [score[sel]]
                held = int(sel.sum())
        self.stats["evaluated"] = self.stats.get("evaluated", 0) + self.n
        idx, score = np.concatenate(keep_idx), np.concatenate(keep_score)
        return list(zip(idx.tolist(), score.tolist()))

    def term1_bounds(self, qm, qc, mode):
        """Entries sharing a peak with the query and an upper bound of their factor.

        Exact ``term1`` and ``n1`` from the postings; ``term2 <= 1`` and
        ``n2 <= n1 - 1`` give ``MF <= floor(1000*(n1*term1 + n1 - 1)/(2*n1 - 1))``
        (the factor is ``round(x - 0.5) = floor(x)``).
        """
        cand, dot, n1, norm_u, norm_l = self._nist_sums(qm, qc, mode)
        denom = norm_u * norm_l
        t1 = np.where(denom > 0, dot * dot / np.where(denom > 0, denom, 1), 0.0)
        t1 = np.minimum(1.0, t1 * (1 + _BOUND_SLACK) + 1e-12)
        if mode["ratio"]:
            raw = 1000.0 * (n1 * t1 + n1 - 1) / (2 * n1 - 1)
        else:
            raw = 1000.0 * t1
        # the reported factor is round(raw - 0.5) = floor(raw), at most 999
        return cand, np.clip(np.floor(raw + 1e-6), 0.0, 999.0)

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
        tau0 = 0.0
        if np.count_nonzero(scored) >= top:
            tau = np.sort(best_score[scored])[::-1][top - 1]
            tau0 = float(tau)
            can = bound >= tau  # sorting a million bounds costs more than this filter
            cand, bound = cand[can], bound[can]
        # identity/reverse bounds are loose (>= ~500): many survivors mean most get scored,
        # scattered; the similarity bound is its exact score, so bound order stops at the top
        if mode["ratio"] and cand.size > _SCAN_SHARE * self.n:
            return self.threshold_scan(qm, qc, mode, top, tau0)
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

    def _scatter_dot(self, qm, qc, peaks, with_lib=False):
        """sum(m*sqrt(Iu*Il)) per entry over the contributing postings of some query peaks.

        With ``with_lib``, also ``sum(m*Il)`` over the same postings (see
        :func:`fentid.spectra.nist_kernels.scatter_dot`).
        """
        a = self.a
        m = np.asarray(qm[peaks], np.int64)
        c = np.asarray(qc[peaks], np.int64)
        inside = m < a["posting_offsets"].size - 1
        dot, lib = nk.scatter_dot(a["posting_offsets"], a["posting_head"], a["posting_entry"],
                                  a["posting_sqrt"], a["posting_count"], m[inside], c[inside],
                                  self.n)
        return (dot, lib) if with_lib else dot

    def _scatter_into(self, qm, qc, peaks, dot, lib) -> np.ndarray:
        """Add the postings of some query peaks into ``dot``/``lib``; newly touched entries."""
        a = self.a
        m = np.asarray(qm[peaks], np.int64)
        c = np.asarray(qc[peaks], np.int64)
        inside = m < a["posting_offsets"].size - 1
        return nk.scatter_more(a["posting_offsets"], a["posting_head"], a["posting_entry"],
                               a["posting_sqrt"], a["posting_count"], m[inside], c[inside],
                               dot, lib)

    def _ball_query(self, qm, qc):
        """The unknown's :class:`BallQuery`, or None where ball bounds do not apply."""
        cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
        if cut >= NORM_CUTS.size:
            return None  # no stored norm bounds an unknown starting this high
        query = BallQuery(self.balls(), np.asarray(qm, np.int64), np.asarray(qc, np.int64),
                          cut, self.a["norm_from_cut"][cut])
        return query if query.ok else None

    def _ball_seed(self, qm, qc, query, mode, top):
        """Score the best-bounded members of the nearest balls: (entries, factors, tau)."""
        seed, seed_bound = query.members(query.seed_balls(), 0.0)
        k = min(seed.size, max(SEED_SCORED, 4 * top))
        if k < top:
            return None
        picked = seed[np.argpartition(-seed_bound, k - 1)[:k]]
        picked_score = self.nist_many(qm, qc, picked, mode)
        self.stats["evaluated"] = int(k)
        if np.count_nonzero(picked_score > 0) < top:
            return None
        tau = float(np.sort(picked_score)[::-1][top - 1])
        self.stats["seed_tau"] = tau  # a lower bound of the final N-th best (cost model)
        return picked.astype(np.int64), picked_score, tau

    def _ball_finish(self, qm, qc, mode, top, cand, bound, picked, picked_score):
        """Score the bounded candidates (less those the seed scored) in bound order."""
        fresh = ~np.isin(cand, picked)
        self.stats["candidates"] = int(np.count_nonzero(fresh) + picked.size)
        return self._evaluate(qm, qc, mode, top, cand[fresh], bound[fresh], picked, picked_score)

    def _reverse_balls(self, qm, qc, top):
        """Reverse MF top list from the per-entry walk bound of :func:`.reverse_bounds`.

        Seeded like the identity search (near balls hold the entries most like the
        unknown); every entry is then bounded from its stored components and only
        those reaching the N-th best factor are scored.  None when that prunes too
        little (the postings path is then cheaper).
        """
        query = self._ball_query(qm, qc)
        if query is None:
            return None
        mode = _NIST_MODES["reverse"]
        seeded = self._ball_seed(qm, qc, query, mode, top)
        if seeded is None:
            return None
        picked, picked_score, tau = seeded
        cand, bound = query.reverse_members(tau)
        if cand.size > _BALL_CAND_MAX * self.n:
            return None
        return self._ball_finish(qm, qc, mode, top, cand, bound, picked, picked_score)

    def _identity_balls(self, qm, qc, top):
        """Identity MF top list from ball bounds (:mod:`.search_ball`); None if they cannot help.

        The members of the balls nearest the unknown are bounded and the best few scored
        to get a first N-th best factor ``tau``; then only balls whose bound reaches
        ``tau`` are opened, only their members whose own bound reaches it are kept, and
        those are scored in bound order while they can still enter the top.
        """
        query = self._ball_query(qm, qc)
        if query is None:
            return None
        seeded = self._ball_seed(qm, qc, query, _NIST_MODES["identity"], top)
        if seeded is None:
            return None
        picked, picked_score, tau = seeded
        opened = np.flatnonzero(query.ball_bound >= tau)
        sizes = query.b["ball_sizes"]
        # a low tau (few close relatives in the library) opens most balls; the bound
        # MF <= floor(1000*(1 + term1)/2) cannot go below 500; the postings paths are
        # then cheaper than scoring most of the library in full
        if sizes[opened].sum() > _BALL_OPEN_MAX * self.n:
            return None
        cand, bound = query.members(opened, tau)
        if cand.size > _BALL_CAND_MAX * self.n:
            return None
        return self._ball_finish(qm, qc, _NIST_MODES["identity"], top, cand, bound, picked,
                                 picked_score)

    def _identity_maxscore(self, qm, qc, top):
        """Identity MF top list touching only the postings of the heaviest query peaks.

        With ``U0 = sum(m*Iu, Iu > 1) <= sum(w1u^2)`` and ``S`` the lighter query
        peaks, Cauchy-Schwarz gives ``cos <= dot_E / sqrt(U0 * Nl) + sqrt(U_S / U0)``
        (``dot_E`` over the heavier peaks ``E``, ``Nl`` the library norm, bounded
        below per entry by a stored table), and ``MF <= floor(1000*(1 + cos^2)/2)``;
        entries inside the postings of ``E`` get the tighter bound that also uses
        their library weight on ``E`` (:func:`fentid.spectra.nist_kernels.maxscore_bounds`).
        A first pass over the heaviest peaks scores a few promising entries to get
        the N-th best factor ``tau``; then ``E`` is grown until entries outside its
        postings cannot reach ``tau``, the best bounds are scored to raise ``tau``,
        and the rest are scored in bound order while they can still enter the top.
        Returns None when no pruning is possible (or it would cost more than the
        exact-term1 scatter).
        """
        weight = qm.astype(np.float64) * qc
        u0 = float(weight[qc > 1].sum())
        if u0 <= 0:
            return None
        order = np.argsort(-weight, kind="stable")
        rest = weight.sum() - np.cumsum(weight[order])  # U_S once the first j+1 are in E
        j1 = int(np.searchsorted(-rest, -0.5 * u0, side="left"))  # rest <= U0/2
        dot, lib = self._take_scratch()
        touched_parts: list[np.ndarray] = []
        try:
            return self._maxscore_walk(qm, qc, top, u0, order, rest, j1, dot, lib,
                                       touched_parts)
        finally:
            self._give_scratch(dot, lib, touched_parts)

    def _take_scratch(self):
        """Two zeroed float arrays of n entries, reused between queries (page faults on
        fresh 8 MB arrays cost about a millisecond at 1M entries)."""
        pool = self.__dict__.setdefault("_scratch", [])
        try:
            return pool.pop()  # atomic: concurrent searches never share a buffer
        except IndexError:
            return np.zeros(self.n), np.zeros(self.n)

    def _give_scratch(self, dot, lib, touched_parts):
        for touched in touched_parts:  # only these entries were written
            dot[touched] = 0.0
            lib[touched] = 0.0
        self.__dict__.setdefault("_scratch", []).append((dot, lib))

    def _refine_tau(self, qm, qc, top, k, cand, bound, picked, picked_score):
        """Score the ``k`` best bounds not yet scored; the new N-th best and the rest."""
        fresh = ~np.isin(cand, picked)
        cand, bound = cand[fresh], bound[fresh]
        if cand.size > k:
            best = np.argpartition(-bound, k - 1)[:k]
            picked = np.concatenate((picked, cand[best]))
            picked_score = np.concatenate((picked_score, self.nist_many(
                qm, qc, cand[best], _NIST_MODES["identity"])))
            self.stats["evaluated"] += k
            rest_mask = np.ones(cand.size, bool)
            rest_mask[best] = False
            cand, bound = cand[rest_mask], bound[rest_mask]
        tau = float(np.sort(picked_score)[::-1][top - 1])
        keep = bound >= tau
        return cand[keep], bound[keep], picked, picked_score, tau

    def _maxscore_walk(self, qm, qc, top, u0, order, rest, j1, dot, lib, touched_parts):
        a = self.a
        touched = self._scatter_into(qm, qc, order[:j1 + 1], dot, lib)
        touched_parts.append(touched)
        if touched.size == 0:
            return None
        k = min(touched.size, max(64, 4 * top))
        picked = nk.top_by_proxy(touched, dot, a["norm_mass"], k)
        picked_score = self.nist_many(qm, qc, picked, _NIST_MODES["identity"])
        self.stats["evaluated"] = int(picked.size)
        if np.count_nonzero(picked_score > 0) < top:
            return None
        tau = float(np.sort(picked_score)[::-1][top - 1])
        t_min = (2 * (tau - 1e-9) / 1000 - 1) * (1 - _BOUND_SLACK) - 1e-12
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
            touched_parts.append(self._scatter_into(qm, qc, order[j1 + 1:j + 1], dot, lib))
            touched = np.concatenate(touched_parts)
        u_s = max(float(rest[max(j, j1)]), 0.0)
        found = self.maxscore_bounds(qm, dot, u0, u_s, lib=lib, tau=tau, touched=touched)
        if found is None:
            return None
        # the proxy's tau is often low: score the best bounds, then count survivors
        cand, bound, picked, picked_score, tau = self._refine_tau(qm, qc, top, k, *found,
                                                                  picked, picked_score)
        # a loose bound leaves many rows to score in full; the exact-term1 scatter over
        # all postings of the query is then cheaper (a row costs ~_ROW_COST postings)
        row_len = a["nominal_mass"].size / max(self.n, 1)
        if _ROW_COST * cand.size * row_len > lengths.sum():
            return None
        self.stats["candidates"] = int(touched.size)
        return self._evaluate(qm, qc, _NIST_MODES["identity"], top, cand, bound,
                              picked.astype(np.int64), picked_score)

    def maxscore_bounds(self, qm, dot, u0, u_s, lib=None, tau=-1.0, touched=None):
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
        lib : ndarray of float, shape (n_entries,), optional
            ``sum(m*Il)`` over the same postings; tightens the bound (taken as 0 if omitted).
        tau : float
            Only entries whose bound reaches ``tau`` are returned (all by default).
        touched : ndarray of int, optional
            Entries with ``dot > 0`` (found from ``dot`` if omitted).

        Returns
        -------
        (candidates, bound) or None
            Entries in the postings of ``E`` and their bounds
            (:func:`fentid.spectra.nist_kernels.maxscore_bounds`); every other
            entry has ``MF <= floor(1000*(1 + u_s/u0)/2)``.  None when the stored
            norm table cannot bound this query (lowest mass above the last cut).
        """
        cut = int(np.searchsorted(NORM_CUTS, qm[0], side="left"))
        if cut >= NORM_CUTS.size:
            return None
        # Nl >= the stored norm above a cut at or above the lowest mass; Nl <= all peaks > 1
        # plus the count-1 peaks an unknown peak > 1 can lift into the norm
        a = self.a
        if lib is None:
            lib = np.zeros(self.n)
        if touched is None:
            touched = np.flatnonzero(dot)
        return nk.maxscore_bounds(np.asarray(touched, np.int64), dot, lib, a["norm_from_cut"][cut], a["norm_mass"],
                                  float(np.sum(qm)), float(u0), float(u_s), float(tau),
                                  _BOUND_SLACK)

    def _nist_sums(self, qm, qc, mode):
        """Scatter-add over the postings of the query masses: exact term1 inputs."""
        a = self.a
        qm, qc = np.asarray(qm, np.int64), np.asarray(qc, np.int64)
        mass_weighted = mode["mass_weighted"]
        if mass_weighted:
            # start from the stored norm above the nearest cut below qmin, subtract the rest
            k = int(np.searchsorted(NORM_CUTS, int(qm[0]), side="right")) - 1
            norm_l, low_from = a["norm_from_cut"][k].copy(), int(NORM_CUTS[k])
        else:
            norm_l, low_from = a["norm_plain"].copy(), 0
        w = qm.astype(np.float64) if mass_weighted else np.ones(qm.size)
        total_u = float(np.sum((w * qc)[qc > 1]))
        dot, n1, norm_u, norm_l = nk.term1_sums(
            a["posting_offsets"], a["posting_head"], a["posting_entry"], a["posting_sqrt"],
            a["posting_count"], norm_l, qm, qc, low_from, mode["reverse"], mass_weighted,
            total_u, self.n)
        cand = np.flatnonzero(n1 > 0)
        return cand, dot[cand], n1[cand], norm_u[cand], norm_l[cand]

    def nist_many(self, qm, qc, entries, mode, at_least=0.0) -> np.ndarray:
        """Exact factors of ``entries`` (compiled walk over the flat nominal arrays)."""
        a = self.a
        rows = np.ascontiguousarray(entries, dtype=np.int64)
        if qm.size == 0 or rows.size == 0:
            return np.zeros(rows.size)
        tables = nk.query_tables(qm, qc, mode["reverse"], mode["mass_weighted"])
        return nk.score_entries(tables, a["nominal_mass"], a["nominal_count"],
                                a["nominal_offsets"], rows, mode["reverse"], mode["mass_weighted"],
                                mode["ratio"], at_least)
