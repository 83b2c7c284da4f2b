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
  ``n2 <= n1 - 1``, ``MF <= floor(1000*(n1*term1 + n1 - 1)/(2*n1 - 1))`` (the
  factor is ``round(x - 0.5) = floor(x)``; a true upper bound, widened by 1e-6
  relative for float round-off).  Candidates are then evaluated in full (the compiled walk
  :func:`~fentid.spectra.nist_kernels.score_rows`, which
  :func:`~fentid.spectra.scores_ms.nist_factors_many` also uses) in decreasing
  bound order, only while a bound can still beat the current N-th best.
  Identity searches first try ball pruning (:mod:`.search_ball`): entries are
  grouped by their heaviest peaks, the query's angle to each group centre and
  each member's stored angle to it bound the cosine (triangle inequality), a
  walk over the member's heaviest components tightens it (Cauchy-Schwarz on
  the rest), and only entries whose bound reaches the N-th best factor are
  scored; no posting list is read.  When the N-th best factor is low (few close
  relatives in the library) that cannot prune, and the search falls back to
  touching only the postings of the heaviest query peaks (max-score pruning
  with a Cauchy-Schwarz bound that also uses the library weight on those peaks,
  :func:`~fentid.spectra.nist_kernels.maxscore_bounds`), then to all postings.
  Entries sharing no contributing peak score 0 and are never hits.
* ``cosine`` and ``entropy`` (accurate mass): peaks sorted by m/z, one
  tolerance window per query peak (ms_entropy's Flash idea).  When the peaks
  of every spectrum are more than twice the tolerance apart each query peak
  has at most one partner per entry, so a scatter-add of the per-pair terms is
  the exact score.  The entropy view of the library is cleaned like
  ``ms_entropy`` does, once per tolerance, and cached.  Cosine decides that per
  pair (a window holding a peak and its successor in the entry, or a library
  peak in two windows), so 0.5 Da on nominal masses stays a scatter-add; only
  the entries with such a clash are scored with the pair function.  Entropy
  top-N searches that would touch millions of library peaks are pruned
  exactly: the heaviest query peaks are scored for every entry, and since a
  pair gains at most ``2*sqrt(x*y)``, the light peaks (30 % of the query's
  intensity) can add at most ``sqrt(X_L*(1 - Y_H))``; their windows are then
  scanned only for the entries whose bound reaches the N-th best partial score
  (:func:`~fentid.reference_library.search_mz.entropy_bounds`).
* Cost model: a segment of at most ``_SCAN_MAX_ENTRIES`` entries, a query whose
  ball seed finds an N-th best factor too low for any bound to prune, or a
  candidate list longer than ``_SCAN_SHARE`` of the segment is served by the
  threshold scan (every row through the compiled walk, in entry order, with
  ``at_least`` = the N-th best so far), which is the exact full scan minus the
  ratio walks of rows that cannot reach the top.
* Postings are read as contiguous slices per query mass (no index arrays or
  gathers), which is what the full scatter costs per posting.
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
from fentid.reference_library import search_ball, search_mz
from fentid.reference_library.search_mz import entry_ids as _entry_ids
from fentid.reference_library.search_nist import (
    _NIST_MODES,
    NORM_CUTS,
    NistSearchMixin,
    _norm_from_cuts,
)
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList

ALGORITHMS = ("identity", "reverse", "similarity", "cosine", "entropy")
INDEX_FORMAT = 1  # bump when the arrays of to_arrays() change meaning


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


def _sort_entries_within(mz, intensity, offsets):
    """Sort peaks by m/z within each entry (stable), leaving entries in place."""
    ent = _entry_ids(offsets)
    if mz.size < 2 or not np.any((np.diff(mz) < 0) & (ent[1:] == ent[:-1])):
        return mz, intensity
    order = np.lexsort((mz, ent))
    return mz[order], intensity[order]


class _LazyArrays(dict):
    """Index arrays where a value may be a loader (no-argument callable) run on first use.

    A library opens its index without reading the peak m/z and intensities (only the
    accurate-mass views and :meth:`SearchIndex.entry` need them; NIST search reads the
    memory-mapped nominal arrays), which keeps opening independent of library size.
    """

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if callable(value):
            value = np.ascontiguousarray(value(), dtype=np.float64)
            if not np.all(np.isfinite(value)) or (key == "intensity" and np.any(value < 0)):
                raise LibraryError(f"library peak {key} values must be finite"
                                   + (" and not negative" if key == "intensity" else ""))
            dict.__setitem__(self, key, value)
        return value

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def values(self):
        return [self[k] for k in self.keys()]


class _Segment(NistSearchMixin):
    """An immutable slice of the library with its own inverted indexes."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.a = arrays if isinstance(arrays, _LazyArrays) else _LazyArrays(arrays)
        self.n = int(arrays["offsets"].size - 1)
        self._cache: dict = {}
        self.stats: dict = {}

    # -- construction -----------------------------------------------------------
    @classmethod
    def build(cls, mz, intensity, offsets, entropy: bool = False) -> _Segment:
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
        arrays.update(search_ball.build_balls(arrays))
        if entropy:
            arrays.update(search_mz.stored_entropy_view(arrays))
        return cls(arrays)

    def balls(self) -> dict[str, np.ndarray]:
        """Ball arrays for identity and reverse search (stored, or built on first use for
        indexes written before they existed)."""
        if "balls" not in self._cache:
            if all(k in self.a for k in search_ball.BALL_KEYS):
                balls = {k: self.a[k] for k in search_ball.BALL_KEYS}
            else:
                balls = search_ball.build_balls(self.a)
            balls["ball_sizes"] = np.diff(balls["ball_offsets"])
            self._cache["balls"] = balls
        return self._cache["balls"]

    def sorted_view(self) -> dict[str, np.ndarray]:
        """Positive peaks sorted by m/z across entries (built on first accurate-mass use)."""
        if "sorted" not in self._cache:
            self._cache["sorted"] = search_mz.sorted_mz_view(self.a["mz"], self.a["intensity"],
                                                             self.a["offsets"])
        return self._cache["sorted"]

    # -- NIST factors ------------------------------------------------------------
    # -- accurate-mass scores (fentid.reference_library.search_mz) ----------------
    def cosine_scores(self, query, a_pow, b_pow, tol_da, tol_ppm, matching):
        return search_mz.cosine_scores(self, query, a_pow, b_pow, tol_da, tol_ppm, matching)

    def entropy_scores(self, query, tol_da, tol_ppm, weighted, noise, top=None):
        return search_mz.entropy_scores(self, query, tol_da, tol_ppm, weighted, noise, top)


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
        #: NIST searches: library entries considered for the last query
        #: ("candidates"), how many were scored in full ("evaluated"), and the
        #: pruning method of each segment ("paths": balls, maxscore or postings).
        self.last_stats: dict = {}
        self._starts = np.concatenate(([0], np.cumsum([s.n for s in self._segments]))).astype(int)

    @property
    def n_entries(self) -> int:
        """Number of library spectra indexed."""
        return int(self._starts[-1])

    def __len__(self) -> int:
        return self.n_entries

    @classmethod
    def build(cls, mz, intensity, offsets, entropy: bool = False) -> SearchIndex:
        """Index library spectra given as concatenated arrays.

        Parameters
        ----------
        mz, intensity : array_like of float, shape (p,)
            Peaks of all entries, concatenated (m/z; intensities >= 0).
        offsets : array_like of int, shape (n + 1,)
            Entry ``k`` owns ``[offsets[k], offsets[k+1])``.
        entropy : bool
            Also build (and keep in :meth:`to_arrays`) the entropy view for the
            default parameters, so that entropy search needs no build on first
            use (MS/MS libraries, where entropy is the default algorithm).

        Raises
        ------
        LibraryError
            Arrays inconsistent, non-finite or negative.
        """
        return cls([_Segment.build(mz, intensity, offsets, entropy)])

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
        entropy = all(search_mz.ENTROPY_KEYS[0] in s.a for s in self._segments)
        return _Segment.build(mz, inten, np.concatenate(([0], np.cumsum(counts))), entropy)

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
        arrays = _LazyArrays()
        for k in needed[:-1]:
            v = mapping[k]
            dict.__setitem__(arrays, k, v if callable(v) else np.asarray(v))
        for optional in (search_ball.BALL_KEYS, search_mz.ENTROPY_KEYS):
            if all(k in mapping for k in optional):
                arrays.update({k: np.asarray(mapping[k]) for k in optional})
        if callable(dict.__getitem__(arrays, "mz")) or callable(
                dict.__getitem__(arrays, "intensity")):
            # peaks read on first use (checked then); offsets and sizes are checked now
            offsets = np.asarray(arrays["offsets"])
            if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or np.any(
                    np.diff(offsets) < 0):
                raise LibraryError("library offsets must start at 0 and be non-decreasing")
        else:
            _check_flat(arrays["mz"], arrays["intensity"], arrays["offsets"])
        n = arrays["offsets"].size - 1
        p = arrays["nominal_mass"].size
        consistent = (arrays["nominal_offsets"].size == n + 1
                      and arrays["nominal_offsets"][-1] == p
                      and arrays["nominal_count"].size == p
                      and arrays["posting_entry"].size == p
                      and arrays["posting_offsets"][-1] == p
                      and arrays["norm_mass"].size == n and arrays["norm_plain"].size == n
                      and arrays["norm_from_cut"].shape == (NORM_CUTS.size, n)
                      and ("ball_offsets" not in arrays
                           or search_ball.consistent(arrays, n, NORM_CUTS.size))
                      and search_mz.stored_view_consistent(arrays))
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
                    if key == "path":  # the method each segment used, in segment order
                        self.last_stats["paths"] = self.last_stats.get("paths", ()) + (value,)
                    elif key in self.last_stats:
                        self.last_stats[key] += value
                idx = np.array([f[0] for f in found], np.int64)
                score = np.array([f[1] for f in found])
            elif algorithm == "cosine":
                idx, score = seg.cosine_scores(query, *p["powers"], p["tolerance_da"],
                                               p["tolerance_ppm"], p["matching"])
            else:
                idx, score = seg.entropy_scores(query, p["tolerance_da"], p["tolerance_ppm"],
                                                p["weighted"], p["noise_threshold"], top)
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
