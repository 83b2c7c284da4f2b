"""Ball pruning for identity- and reverse-MF search (part of :mod:`.search`).

Why: at a million library spectra the postings of one common mass (m/z 91,
77, 43...) hold hundreds of thousands of entries, so any method that reads
the full postings of the unknown's heavy peaks spends milliseconds before it
scores anything.  Here the library is grouped once into balls (entries whose
heaviest mass-weighted peaks agree); a query computes its angle to every
ball centre (a few thousand sparse dot products through the centres' own
inverted index), bounds every member of the balls that can still matter from
stored per-member numbers only (angle to the centre, heaviest components),
and scores in full only the entries whose bound reaches the N-th best factor
found so far.  Reverse search has no ball bound (it ignores the unknown's
peaks that an entry lacks, so every entry sees a different unknown) and walks
every entry's stored components instead.  The bounds are proved in
:mod:`fentid.spectra.ball_kernels`; the result is exactly the brute-force top
list (tests compare them).
"""

from __future__ import annotations

import numpy as np

from fentid.spectra import ball_kernels as bk

#: Centre components below this fraction of the unit centre are dropped.
CENTRE_KEEP_MIN = 0.05
#: Stored arrays (all or none; libraries indexed before balls existed build them on use).
BALL_KEYS = ("ball_offsets", "ball_members", "ball_rho", "ball_rho_max", "ball_phi_max",
             "ball_row_offsets", "ball_row_mass", "ball_row_x", "ball_full",
             "ball_centre_offsets", "ball_centre_ball", "ball_centre_val")
#: Balls larger than this are split by the next heaviest mass (up to the fourth).
BALL_SPLIT = 256
_SLACK = 1e-6
_SEED_MEMBERS = 256
#: Members of the nearest balls scored in full to get a first N-th best factor (at least).
SEED_SCORED = 64


def build_balls(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ball arrays of one index segment, from its nominal view and norm table.

    Parameters
    ----------
    arrays : dict
        ``nominal_mass``, ``nominal_count``, ``nominal_offsets``,
        ``posting_offsets`` and ``norm_from_cut`` of the segment.

    Returns
    -------
    dict of ndarray
        The :data:`BALL_KEYS` arrays.
    """
    lm = np.ascontiguousarray(arrays["nominal_mass"])
    lc = np.ascontiguousarray(arrays["nominal_count"])
    loff = np.ascontiguousarray(arrays["nominal_offsets"], np.int64)
    size = int(arrays["posting_offsets"].size)  # > the largest library mass
    full, row_mass, row_x = bk.entry_rows(lm, lc, loff)
    ball = _ball_keys(_heaviest(row_mass, loff, 4))
    members = np.argsort(ball, kind="stable").astype(np.int64)
    moff = np.concatenate(([0], np.cumsum(np.bincount(ball)))).astype(np.int64)
    cent_off, cent_mass, cent_val, rho = bk.ball_centres(lm, lc, loff, full, members, moff,
                                                         size, CENTRE_KEEP_MIN)
    # within a ball, members by rho descending (member_bounds stops at the first too close)
    ball_of = np.repeat(np.arange(moff.size - 1), np.diff(moff))
    within = np.lexsort((-rho.astype(np.float64), ball_of))
    members, rho = members[within], rho[within]
    starts = moff[:-1]
    rho_max = np.maximum.reduceat(rho, starts) if members.size else np.zeros(0, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.sqrt(full[members][None, :] / arrays["norm_from_cut"][:, members])
    phi = np.where(np.isnan(phi), np.inf, phi)  # no norm above the cut: no bound
    phi_max = (np.maximum.reduceat(phi, starts, axis=1) if members.size
               else np.zeros((phi.shape[0], 0)))
    cent_ball = np.repeat(np.arange(moff.size - 1), np.diff(cent_off))
    order = np.argsort(cent_mass, kind="stable")
    sizes = np.diff(loff)[members]
    row_off = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    take = _ranges(loff[members], sizes)
    mass_type = np.uint16 if size <= 65536 else np.int32
    return {
        "ball_offsets": moff,
        "ball_members": members.astype(np.int32),
        "ball_rho": rho,
        "ball_rho_max": rho_max.astype(np.float32),
        "ball_phi_max": phi_max * (1 + _SLACK),
        "ball_row_offsets": row_off,
        "ball_row_mass": row_mass[take].astype(mass_type),
        "ball_row_x": row_x[take],
        "ball_full": full,
        "ball_centre_offsets": np.concatenate(([0], np.cumsum(np.bincount(
            cent_mass, minlength=size)))).astype(np.int64),
        "ball_centre_ball": cent_ball[order].astype(np.int32),
        "ball_centre_val": cent_val[order].astype(np.float32),  # round-off: BallQuery slack
    }


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + size)`` for every pair (vectorised)."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1] if ends.size else 0) + np.repeat(starts - (ends - sizes), sizes)


def _heaviest(row_mass: np.ndarray, loff: np.ndarray, depth: int) -> np.ndarray:
    """``(n, depth)`` masses of each entry's heaviest components (0 pads)."""
    n = loff.size - 1
    out = np.zeros((n, depth), np.int64)
    sizes = np.diff(loff)
    for j in range(depth):
        has = sizes > j
        out[has, j] = row_mass[loff[:-1][has] + j]
    return out


def _ball_keys(head_mass: np.ndarray) -> np.ndarray:
    """Ball of each entry: its two heaviest masses, refined by the third and fourth
    heaviest while a ball would hold more than :data:`BALL_SPLIT` entries."""
    n = head_mass.shape[0]
    depth = min(4, head_mass.shape[1])
    key = np.zeros(n, np.int64)
    level = np.zeros(n, np.int64)
    for p in range(2, depth + 1):
        top = np.sort(head_mass[:, :p].astype(np.int64), axis=1)
        packed = np.zeros(n, np.int64)
        for j in range(p):
            packed = packed * 32768 + np.minimum(top[:, j], 32767)
        if p == 2:
            key, level = packed, np.full(n, 2)
            continue
        _, inverse, counts = np.unique(np.c_[level, key], axis=0, return_inverse=True,
                                       return_counts=True)
        big = counts[inverse.ravel()] > BALL_SPLIT
        if not np.any(big):
            break
        key = np.where(big, packed, key)
        level = np.where(big, p, level)
    return np.unique(np.c_[level, key], axis=0, return_inverse=True)[1].ravel()


def consistent(arrays: dict[str, np.ndarray], n: int, n_cuts: int) -> bool:
    """Whether stored ball arrays fit a segment of ``n`` entries."""
    moff = arrays["ball_offsets"]
    k = moff.size - 1
    return (moff[-1] == n and arrays["ball_members"].size == n and arrays["ball_rho"].size == n
            and arrays["ball_row_offsets"].size == n + 1
            and arrays["ball_row_mass"].size == arrays["ball_row_x"].size
            and arrays["ball_row_offsets"][-1] == arrays["ball_row_x"].size
            and arrays["ball_full"].size == n and arrays["ball_rho_max"].size == k
            and arrays["ball_phi_max"].shape == (n_cuts, k)
            and arrays["ball_centre_ball"].size == arrays["ball_centre_val"].size
            and arrays["ball_centre_offsets"][-1] == arrays["ball_centre_ball"].size)


class BallQuery:
    """The unknown's view for ball bounds: unit vector, centre angles, norm factors.

    Parameters
    ----------
    balls : dict of ndarray
        A segment's ball arrays (:func:`build_balls`, plus ``ball_sizes``).
    qm, qc : ndarray of int64
        The unknown's nominal masses (ascending) and counts 1..999.
    cut : int
        Index into ``NORM_CUTS`` of the smallest cut at or above the unknown's lowest mass.
    norm_cut : ndarray of float64, shape (n,)
        Every entry's norm over peaks > 1 at or above that cut.

    Attributes
    ----------
    ok : bool
        False when the unknown has no peak > 1 (no bound; use another path).
    ball_bound : ndarray of float64
        Integer-valued upper bound of the identity factor of every member, per ball.
    """

    def __init__(self, balls: dict[str, np.ndarray], qm, qc, cut: int, norm_cut: np.ndarray):
        self.b = balls
        w = qm.astype(np.float64) * qc
        u0 = float(w[qc > 1].sum())
        norm = float(np.sqrt(w.sum()))
        self.ok = u0 > 0
        if not self.ok:
            return
        self.psi = norm / np.sqrt(u0) * (1 + _SLACK)
        qx = np.sqrt(w) / norm
        size = balls["ball_centre_offsets"].size - 1
        inside = qm < size
        self.qdense = np.zeros(size)
        self.qdense[qm[inside]] = qx[inside]
        self.qcount = np.zeros(size, np.int32)
        self.qcount[qm[inside]] = qc[inside]
        n_balls = balls["ball_offsets"].size - 1
        dots = bk.centre_dots(balls["ball_centre_offsets"], balls["ball_centre_ball"],
                              balls["ball_centre_val"], qm, qx, n_balls)
        self.l0 = norm_cut
        self.phi_max = np.ascontiguousarray(balls["ball_phi_max"][cut])
        self.theta, self.ball_bound = bk.ball_angles(dots, balls["ball_rho_max"], self.phi_max,
                                                     self.psi, _SLACK)

    def members(self, balls_sel, tau: float):
        """Entries of the selected balls whose own bound reaches ``tau``, with the bounds."""
        b = self.b
        return bk.member_bounds(np.ascontiguousarray(balls_sel, np.int64), b["ball_offsets"],
                                b["ball_members"], b["ball_rho"], b["ball_row_offsets"],
                                b["ball_row_mass"], b["ball_row_x"], self.theta, self.qdense,
                                self.psi, self.phi_max, b["ball_full"], self.l0, float(tau),
                                _SLACK)

    def reverse_members(self, tau: float):
        """Entries whose reverse-factor bound reaches ``tau`` (every ball is walked)."""
        b = self.b
        return bk.reverse_bounds(b["ball_offsets"], b["ball_members"], b["ball_row_offsets"],
                                 b["ball_row_mass"], b["ball_row_x"], self.qdense, self.qcount,
                                 self.phi_max, b["ball_full"], self.l0, float(tau), _SLACK)

    def seed_balls(self) -> np.ndarray:
        """The balls nearest the unknown holding at least a few hundred entries."""
        sizes = self.b["ball_sizes"]
        near = min(sizes.size, 64)
        order = np.argpartition(self.theta, near - 1)[:near] if near < sizes.size \
            else np.arange(sizes.size)
        order = order[np.argsort(self.theta[order], kind="stable")]
        enough = np.searchsorted(np.cumsum(sizes[order]), _SEED_MEMBERS) + 1
        return order[:enough]
