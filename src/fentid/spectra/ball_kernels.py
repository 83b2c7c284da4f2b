"""Compiled (numba) kernels of the identity search's ball pruning.

Each library entry is seen as the unit vector ``x`` of its mass-weighted NIST
weights (``x_m = sqrt(m*c_m / sum(m*c))`` over all its nominal peaks).  Entries
are grouped into balls (entries sharing their heaviest masses); a ball has
a centre ``c`` (the truncated, renormalised mean of its members) and every
member stores its angle ``rho`` to that centre and its components, heaviest
first, in ball order (the members of a ball are contiguous in memory).

For an unknown ``u`` (unit vector ``q``), two upper bounds of ``q . x`` follow
without reading the entry's peaks:

* triangle inequality on the sphere: ``angle(q, x) >= angle(q, c) - rho``;
* Cauchy-Schwarz beyond the components read so far (``seen``):
  ``q . x <= sum_seen q_m x_m + sqrt(1 - sum_seen q_m^2) * sqrt(1 - sum_seen x_m^2)``.

The NIST cosine term uses truncated norms (peaks at or above the unknown's
lowest mass, count-1 peaks only where they contribute); with
``U0 = sum(m*Iu, Iu > 1)`` and ``L0`` the entry's stored norm over peaks > 1
above a mass cut at or above the unknown's lowest mass,
``sqrt(term1) <= (|u| / sqrt(U0)) * (|l| / sqrt(L0)) * (q . x)``, and
``MF <= floor(1000*(1 + term1)/2)`` (``term2 <= 1``, see
:mod:`fentid.reference_library.search_nist`).  All stored float32 values are
rounded towards the safe side and every bound is widened by a relative slack.
"""

from __future__ import annotations

import math

import numpy as np

from fentid.spectra.nist_kernels import _jit


@_jit
def _round_up32(value):
    """``value`` as float32, never below it."""
    v = np.float32(value)
    if float(v) < value:
        v = np.nextafter(v, np.float32(np.inf))
    return v


@_jit
def _factor_bound(cos):
    """Integer-valued upper bound of an identity/reverse factor from a bound of its
    cosine term (``term2 <= 1``: ``MF <= round(1000*(1 + term1)/2 - 0.5)``, which is
    ``floor(1000*(1 + term1)/2)``)."""
    return min(999.0, max(0.0, np.floor(1000.0 * (1 + cos * cos) / 2 + 1e-6)))


@_jit
def _with_norm_factor(cos, full_e, l0_e, slack):
    """A bound of ``q . x`` turned into one of the NIST cosine (truncated library norm)."""
    if l0_e <= 0:
        return 1.0
    return min(1.0, cos * math.sqrt(full_e / l0_e) * (1 + slack) + 1e-12)


@_jit
def entry_rows(lm, lc, loff):
    """Each entry's unit vector, components heaviest first.

    Parameters
    ----------
    lm, lc : ndarray of int
        Library nominal masses and counts 1..999 (entry-major).
    loff : ndarray of int64, shape (n + 1,)
        Entry ``e`` owns ``[loff[e], loff[e+1])``.

    Returns
    -------
    full : ndarray of float64, shape (n,)
        ``sum(m*c)`` over all peaks of the entry.
    row_mass : ndarray of int32, shape (p,)
        Masses, per entry by ``m*c`` descending (same offsets as ``loff``).
    row_x : ndarray of float32, shape (p,)
        ``x_m = sqrt(m*c / full)`` in the same order (rounded to nearest).
    """
    n = loff.size - 1
    full = np.zeros(n)
    row_mass = np.zeros(lm.size, np.int32)
    row_x = np.zeros(lm.size, np.float32)
    for e in range(n):
        lo = loff[e]
        k = loff[e + 1] - lo
        if k == 0:
            continue
        w = np.empty(k)
        s = 0.0
        for p in range(k):
            w[p] = float(lm[lo + p]) * float(lc[lo + p])
            s += w[p]
        full[e] = s
        order = np.argsort(-w)
        for j in range(k):
            p = order[j]
            row_mass[lo + j] = lm[lo + p]
            row_x[lo + j] = np.float32(math.sqrt(w[p] / s))
    return full, row_mass, row_x


@_jit
def ball_centres(lm, lc, loff, full, members, moff, size, keep_min):
    """Centre of each ball and each member's angle to it.

    Parameters
    ----------
    lm, lc, loff
        As in :func:`entry_rows`.
    full : ndarray of float64
        From :func:`entry_rows`.
    members : ndarray of int64
        Entries grouped by ball; ball ``k`` owns ``members[moff[k]:moff[k+1]]``.
    moff : ndarray of int64
    size : int
        One more than the largest library mass.
    keep_min : float
        Centre components below this (after normalising the mean) are dropped
        (a sparser centre is still a valid pivot: ``rho`` is measured to it).

    Returns
    -------
    cent_off : ndarray of int64, shape (K + 1,)
    cent_mass : ndarray of int32
    cent_val : ndarray of float64
        Centres as CSR rows (unit vectors).
    rho : ndarray of float32, shape (members.size,)
        Angle (radians) of each member to its centre, rounded up.
    """
    nk = moff.size - 1
    acc = np.zeros(size)
    touched = np.empty(size, np.int64)
    cap = 1 << 16
    cent_mass = np.empty(cap, np.int32)
    cent_val = np.empty(cap)
    cent_off = np.zeros(nk + 1, np.int64)
    nc = 0
    rho = np.empty(members.size, np.float32)
    for k in range(nk):
        nt = 0
        for j in range(moff[k], moff[k + 1]):
            e = members[j]
            s = full[e]
            if s <= 0:
                continue
            for p in range(loff[e], loff[e + 1]):
                m = lm[p]
                if acc[m] == 0.0:
                    touched[nt] = m
                    nt += 1
                acc[m] += math.sqrt(float(m) * float(lc[p]) / s)
        total = 0.0
        for i in range(nt):
            total += acc[touched[i]] * acc[touched[i]]
        norm = math.sqrt(total)
        kept = 0.0
        for i in range(nt):
            m = touched[i]
            if norm > 0 and acc[m] / norm >= keep_min:
                kept += acc[m] * acc[m]
            else:
                acc[m] = 0.0
        cn = math.sqrt(kept)
        for i in range(nt):
            m = touched[i]
            if acc[m] > 0:
                acc[m] /= cn
                if nc == cent_mass.size:
                    cent_mass = np.concatenate((cent_mass, np.empty(nc, np.int32)))
                    cent_val = np.concatenate((cent_val, np.empty(nc)))
                cent_mass[nc] = m
                cent_val[nc] = acc[m]
                nc += 1
        cent_off[k + 1] = nc
        for j in range(moff[k], moff[k + 1]):
            e = members[j]
            s = full[e]
            if s <= 0 or cn <= 0:
                rho[j] = np.float32(math.pi)  # no direction: the triangle bound says nothing
                continue
            d = 0.0
            for p in range(loff[e], loff[e + 1]):
                m = lm[p]
                d += acc[m] * math.sqrt(float(m) * float(lc[p]) / s)
            rho[j] = _round_up32(math.acos(min(1.0, max(-1.0, d))) + 1e-6)
        for i in range(nt):
            acc[touched[i]] = 0.0
    return cent_off, cent_mass[:nc].copy(), cent_val[:nc].copy(), rho


@_jit
def centre_dots(inv_off, inv_ball, inv_val, qm, qx, n_balls):
    """``q . c`` for every ball centre, from the centres' inverted index by mass."""
    out = np.zeros(n_balls)
    size = inv_off.size - 1
    for i in range(qm.size):
        m = qm[i]
        if m >= size:
            continue
        v = qx[i]
        for p in range(inv_off[m], inv_off[m + 1]):
            out[inv_ball[p]] += v * inv_val[p]
    return out


@_jit
def ball_angles(dots, rho_max, phi_max, psi, slack):
    """Lower bounds of the unknown-centre angles, and each ball's identity-factor bound.

    Parameters
    ----------
    dots : ndarray of float64, shape (K,)
        ``q . c`` per ball (:func:`centre_dots`).
    rho_max : ndarray of float32, shape (K,)
        Largest member angle to the centre, per ball.
    phi_max : ndarray of float64, shape (K,)
        Largest member norm factor at the unknown's cut, per ball (may be inf).
    psi : float
        ``|u| / sqrt(U0)``.
    slack : float

    Returns
    -------
    theta : ndarray of float64, shape (K,)
    bound : ndarray of float64, shape (K,)
        Integer-valued upper bound of every member's identity factor.
    """
    k = dots.size
    theta = np.empty(k)
    bound = np.empty(k)
    for i in range(k):
        theta[i] = math.acos(min(1.0, dots[i] * (1 + slack) + 1e-9))
        cos = math.cos(max(0.0, theta[i] - float(rho_max[i])))
        scale = psi * phi_max[i]
        cos = 1.0 if scale == np.inf else min(1.0, cos * scale)
        bound[i] = _factor_bound(cos)
    return theta, bound


@_jit
def member_bounds(balls, moff, members, rho, row_off, row_mass, row_x, theta, qdense,
                  psi, phi_max, full, l0, tau, slack):
    """Identity-factor upper bounds of the members of some balls, kept where >= ``tau``.

    Parameters
    ----------
    balls : ndarray of int64
        Balls whose members are bounded.
    moff, members, rho
        Ball arrays (member order; members of a ball by ``rho`` descending).
    row_off, row_mass, row_x
        Each member's unit vector, heaviest components first (member order).
    theta : ndarray of float64, shape (K,)
        Lower bounds of the angle between the unknown and each centre.
    qdense : ndarray of float64
        ``q_m`` of the unknown by mass (0 where absent; covers every library mass).
    psi : float
        ``|u| / sqrt(U0)``.
    phi_max : ndarray of float64, shape (K,)
        Per ball, the largest ``|l| / sqrt(L0)`` of a member at the unknown's cut.
    full : ndarray of float64, shape (n,)
        Each entry's ``sum(m*c)`` over all peaks.
    l0 : ndarray of float64, shape (n,)
        Each entry's norm over peaks > 1 at or above a cut >= the unknown's lowest mass.
    tau : float
        Only bounds >= ``tau`` are returned.
    slack : float
        Relative widening for float round-off.

    Returns
    -------
    cand : ndarray of int64
        Entries.
    bound : ndarray of float64
        Integer-valued upper bounds of their identity factor.

    Notes
    -----
    Filters in order of cost: the triangle bound with the ball's largest norm
    factor (members are sorted by ``rho`` descending, so those that pass form a
    prefix); the walk over the member's components, heaviest first, where after
    every few components ``sum_seen q x + |q_rest| |x_rest|`` bounds ``q . x``
    (most members fail within their first components; a full walk gives
    ``q . x`` itself); and only then the member's own norm factor (a random
    read of ``full`` and ``l0``).
    """
    t_need = 2 * (tau - 1e-6) / 1000.0 - 1
    c_need = math.sqrt(t_need) * (1 - 4 * slack) if t_need > 0 else 0.0
    total = 0
    for i in range(balls.size):
        total += moff[balls[i] + 1] - moff[balls[i]]
    cand = np.empty(total, np.int64)
    bound = np.empty(total)
    t = 0
    for i in range(balls.size):
        k = balls[i]
        scale = psi * phi_max[k] * (1 + slack)
        # members with rho below rho_min cannot pass the triangle bound
        rho_min = -1.0
        need = 0.0  # a bound on q . x below this fails (ball's largest norm factor)
        if c_need > 0 and scale < np.inf:
            ratio = c_need / scale
            if ratio >= 1.0:
                continue
            rho_min = theta[k] - math.acos(ratio)
            need = ratio
        for j in range(moff[k], moff[k + 1]):
            if float(rho[j]) < rho_min:
                break
            cos = math.cos(max(0.0, theta[k] - float(rho[j])))
            s = 0.0
            q2 = 0.0
            x2 = 0.0
            lo = row_off[j]
            hi = row_off[j + 1]
            for p in range(lo, hi):
                x = float(row_x[p])
                qv = qdense[row_mass[p]]
                s += qv * x
                q2 += qv * qv
                x2 += x * x
                if (p - lo) % 8 == 7 or p == hi - 1:
                    walk = (s * (1 + slack) + math.sqrt(max(0.0, 1.0 - q2) + slack)
                            * math.sqrt(max(0.0, 1.0 - x2) + slack))
                    cos = min(cos, walk)
                    if cos < need:
                        break
            if hi == lo:
                cos = 0.0
            if cos <= 0 or cos < need:
                continue
            e = members[j]
            value = _factor_bound(_with_norm_factor(cos * psi, full[e], l0[e], slack))
            if value >= tau:
                cand[t] = e
                bound[t] = value
                t += 1
    return cand[:t].copy(), bound[:t].copy()


@_jit
def reverse_bounds(moff, members, row_off, row_mass, row_x, qdense, qcount, phi_max, full,
                   l0, tau, slack):
    """Reverse-factor upper bounds of every entry, kept where >= ``tau``.

    The reverse factor ignores the unknown's peaks absent from the entry, so its
    cosine term is ``g = q_S . x / |q_S|`` (``S``: the contributing common masses)
    times the entry's norm factor ``sqrt(full / L0)``.  Walking the entry's
    components heaviest first, with ``a = sum q x`` and ``Q = sum q^2`` over the
    contributing masses seen and ``rho`` the norm of the unseen components,
    Cauchy-Schwarz gives ``g <= sqrt(a^2/Q + rho^2)`` (``rho`` while ``Q = 0``).
    No ball bound exists here (each entry restricts the unknown differently), so
    every entry is walked, in ball order (contiguous rows), until its bound with
    the ball's largest norm factor falls below the one ``tau`` needs.

    Parameters
    ----------
    moff, members, row_off, row_mass, row_x
        Ball arrays (member order).
    qdense : ndarray of float64
        ``q_m`` of the unknown by mass (any positive scale).
    qcount : ndarray of int32
        The unknown's count at each mass (same size as ``qdense``).
    phi_max : ndarray of float64, shape (K,)
        Per ball, the largest norm factor of a member at the unknown's cut.
    full, l0 : ndarray of float64, shape (n,)
        As in :func:`member_bounds`.
    tau : float
    slack : float

    Returns
    -------
    cand : ndarray of int64
    bound : ndarray of float64
    """
    t_need = 2 * (tau - 1e-6) / 1000.0 - 1
    c_need = math.sqrt(t_need) * (1 - 4 * slack) if t_need > 0 else 0.0
    cand = np.empty(members.size, np.int64)
    bound = np.empty(members.size)
    t = 0
    for k in range(moff.size - 1):
        scale = phi_max[k] * (1 + slack)
        need = c_need / scale if scale < np.inf else 0.0
        if need > 1.0:
            continue
        need2 = need * need
        for j in range(moff[k], moff[k + 1]):
            lo = row_off[j]
            hi = row_off[j + 1]
            a = 0.0
            q2 = 0.0
            x2 = 0.0
            g2 = 1.0  # squared bound so far (square roots only at the end)
            e = members[j]
            for p in range(lo, hi):
                x = float(row_x[p])
                m = row_mass[p]
                x2 += x * x
                qv = qdense[m]
                if qv > 0:
                    if qcount[m] <= 1:
                        # a count-1 unknown peak contributes only against a library count > 1
                        b = np.int64(x * x * full[e] / m + 0.5)
                        if b > 1:
                            a += qv * x
                            q2 += qv * qv
                    else:
                        a += qv * x
                        q2 += qv * qv
                rho2 = max(0.0, 1.0 - x2) + slack
                if q2 > 0:
                    g2 = min(g2, a * a / q2 * (1 + slack) + rho2)
                else:
                    g2 = min(g2, rho2)
                if g2 < need2:
                    break
            g = math.sqrt(g2)
            if hi == lo or g < need:
                continue
            if q2 <= 0 and x2 >= 1.0 - 1e-6:
                continue  # every component seen, none shared: the factor is 0
            value = _factor_bound(_with_norm_factor(g, full[e], l0[e], slack))
            if value >= tau:
                cand[t] = e
                bound[t] = value
                t += 1
    return cand[:t].copy(), bound[:t].copy()
