"""Whole-library checks for ``fentid library validate`` (and the audit trail helpers).

Checks: every compound's structure (RDKit; reported as skipped without it), every entry's
compound reference, peak arrays (finite, offsets consistent), EI plausibility flags, the
stored content checksum against one recomputed from the data.
"""

from __future__ import annotations

import numpy as np

from fentid.reference_library.store import Library
from fentid.reference_library.validate import (
    EI_MAX_MZ_TOLERANCE_DA,
    check_compound,
    rdkit_available,
)


def validate_library(path, progress=None) -> dict:
    """Validate a library file.

    Returns
    -------
    dict
        ``path, compounds, entries, errors (list of str), warnings, skipped (count),
        skipped_reason, checksum_ok, library_version``.
    """
    errors: list[str] = []
    warnings: list[str] = []
    skipped = 0
    with Library.open(path) as lib:
        compounds = lib.compounds()
        for comp in compounds:
            for f in check_compound(comp):
                label = f"compound {comp['id']} ({comp['name']}): {f.field}: {f.message}"
                if f.level == "error":
                    errors.append(label)
                elif f.level == "warning":
                    warnings.append(label)
                elif f.level == "skipped":
                    skipped += 1
        n_entries = 0
        for tech in lib.techniques():
            cols = lib.entry_columns(tech)
            pos, inten, offsets = lib.peaks(tech)
            n = cols["entry_id"].size
            n_entries += n
            if offsets.size != n + 1 or offsets[-1] != pos.size or np.any(np.diff(offsets) < 0):
                errors.append(f"{tech}: peak offsets disagree with the entry table")
                continue
            if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(inten))):
                errors.append(f"{tech}: non-finite peak values")
            bad_ref = np.flatnonzero((cols["compound"] < 0) | (cols["compound"] >= len(compounds)))
            errors += [f"entry {cols['entry_id'][r]}: unknown compound row" for r in bad_ref]
            if tech == "ei" and n:
                warnings += _ei_flags(cols, pos, inten, offsets, compounds, bad_ref)
            if progress:
                progress(n_entries, n_entries, tech)
        version = lib.library_version
        stored = lib.checksum
    import h5py

    with h5py.File(path, "r") as f:
        recomputed = _verify_checksum(f)
    ok = recomputed == stored
    if not ok:
        errors.append("content checksum does not match the data (file altered outside fentid?)")
    return {"path": str(path), "library_version": version, "compounds": len(compounds),
            "entries": n_entries, "errors": errors, "warnings": warnings, "skipped": skipped,
            "skipped_reason": "compounds without a SMILES: no structure to check"
            if rdkit_available() else
            "RDKit not installed: structural checks skipped, not passed",
            "checksum_ok": ok}


def _ei_flags(cols, pos, inten, offsets, compounds, bad_ref) -> list[str]:
    """EI plausibility flags for every entry at once (vectorised over the flat arrays)."""
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    starts = offsets[nonempty]
    masses = np.array([c["monoisotopic_mass"] for c in compounds] + [np.nan])
    comp = np.where(np.isin(np.arange(cols["compound"].size), bad_ref), len(compounds),
                    cols["compound"])
    top = np.maximum.reduceat(pos, starts) if starts.size else np.zeros(0)
    hi = np.maximum.reduceat(inten, starts) if starts.size else np.zeros(0)
    lo = np.minimum.reduceat(inten, starts) if starts.size else np.zeros(0)
    mass = masses[comp[nonempty]]
    out = []
    with np.errstate(invalid="ignore"):
        too_high = top > mass + EI_MAX_MZ_TOLERANCE_DA
    flat = (hi == lo) & (np.diff(offsets)[nonempty] > 1)
    for k in np.flatnonzero(too_high | flat):
        row = nonempty[k]
        name = compounds[comp[row]]["name"] if comp[row] < len(compounds) else "?"
        what = (f"largest m/z {top[k]:g} exceeds the molecular mass {mass[k]:.2f} Da"
                if too_high[k] else "all peak intensities are equal")
        out.append(f"entry {cols['entry_id'][row]} ({name}): {what}")
    for row in np.flatnonzero(np.diff(offsets) == 0):
        out.append(f"entry {cols['entry_id'][row]}: no peaks")
    return out


def _verify_checksum(f) -> str:
    """Content checksum recomputed from the data (read-only: digests are not stored)."""
    import hashlib

    import h5py

    from fentid.reference_library.columns import block_elements

    parts: list[bytes] = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.ndim != 1:
            blocks = hashlib.sha256(np.ascontiguousarray(obj[...]).tobytes()).digest()
        else:
            per = block_elements(obj)
            n = obj.shape[0]
            digests = []
            for lo in range(0, n, per):
                digests.append(hashlib.sha256(obj[lo:min(n, lo + per)].tobytes()).digest())
            blocks = b"".join(digests)
        parts.append(f"{name}|{obj.dtype.str}|{obj.shape}|".encode() + blocks)

    f.visititems(visit)
    return hashlib.sha256(b"\n".join(sorted(parts))).hexdigest()

