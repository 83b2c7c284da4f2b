"""``fentid info``: what a file is and what its header says, without processing it."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from fentid.drivers import read
from fentid.errors import NoSpectraError
from fentid.spectra.model import Dataset, Fid, Run, Spectrum

#: Keys every NMR description has (None when the file does not say).
NMR_KEYS = ("path", "driver", "technique", "nucleus", "spectrometer_frequency_mhz", "points",
            "dimensions", "solvent")
#: Keys every MS description has.
MS_KEYS = ("path", "driver", "technique", "n_spectra", "ms_levels", "n_scans",
           "retention_time_range_s", "mz_range", "instrument", "ionization")


def describe(path: str | os.PathLike) -> dict:
    """Describe a file or folder as ``fentid info`` prints it.

    Returns
    -------
    dict
        For NMR the keys in :data:`NMR_KEYS`, for MS those in :data:`MS_KEYS`,
        plus ``header`` (the vendor parameters the driver chose to show) and
        ``problems`` (unreadable records of multi-record files).
    """
    try:
        ds = read(path)
    except NoSpectraError as exc:
        # a complete file with nothing to process (chromatograms only) is still described
        if exc.dataset is None:
            raise
        ds = exc.dataset
    return describe_dataset(ds)


def describe_dataset(ds: Dataset) -> dict:
    out = _describe_nmr(ds) if ds.technique == "nmr" else _describe_ms(ds)
    out["sha256"] = ds.sha256
    extra = {k: v for k, v in ds.metadata.items() if k not in out and k != "header"}
    out.update(extra)
    out["header"] = dict(ds.metadata.get("header", {}))
    out["problems"] = [str(p) for p in ds.problems]
    return out


def _first_meta(ds: Dataset, key: str):
    if key in ds.metadata:
        return ds.metadata[key]
    for item in ds.items:
        meta = getattr(item, "metadata", {})
        if meta.get(key) is not None:
            return meta[key]
    return None


def _describe_nmr(ds: Dataset) -> dict:
    first = ds.items[0] if ds.items else None
    nucleus = ds.metadata.get("nucleus") or getattr(first, "nucleus", None)
    freq = ds.metadata.get("spectrometer_frequency_mhz")
    if freq is None and isinstance(first, Fid):
        freq = first.obs_mhz
    if freq is None:
        freq = _first_meta(ds, "spectrometer_frequency_mhz")
    points = ds.metadata.get("points")
    if points is None and first is not None:
        points = first.points if isinstance(first, Fid) else len(first)
    dims = ds.metadata.get("dimensions")
    if dims is None:
        dims = first.ndim if isinstance(first, Fid) else 1
    return {
        "path": ds.path,
        "driver": ds.driver,
        "technique": "nmr",
        "nucleus": nucleus,
        "spectrometer_frequency_mhz": None if freq is None else float(freq),
        "points": None if points is None else int(points),
        "dimensions": int(dims),
        "solvent": _first_meta(ds, "solvent"),
        "data": "fid" if isinstance(first, Fid) else "spectrum",
    }


def _describe_ms(ds: Dataset) -> dict:
    levels: Counter = Counter()
    rts, mz_lo, mz_hi = [], [], []
    n_scans = 0
    n_spectra = 0
    for item in ds.items:
        if isinstance(item, Run):
            n_scans += item.n_scans
            n_spectra += item.n_scans
            levels.update(int(v) for v in item.ms_level)
            if item.n_scans:
                rts.extend([item.retention_time_s.min(), item.retention_time_s.max()])
            if item.mz.size:
                mz_lo.append(item.mz.min())
                mz_hi.append(item.mz.max())
        elif isinstance(item, Spectrum):
            n_spectra += 1
            levels[int(item.metadata.get("ms_level") or 1)] += 1
            rt = item.metadata.get("retention_time_s")
            if rt is not None:
                rts.append(float(rt))
            if len(item):
                mz_lo.append(item.axis[0])
                mz_hi.append(item.axis[-1])
    meta = ds.metadata
    return {
        "path": ds.path,
        "driver": ds.driver,
        "technique": "ms",
        "n_spectra": int(meta.get("n_spectra", n_spectra)),
        "ms_levels": {str(k): v for k, v in sorted(meta.get("ms_levels", levels).items())},
        "n_scans": int(meta.get("n_scans", n_scans)),
        "retention_time_range_s": meta.get(
            "retention_time_range_s", [float(np.min(rts)), float(np.max(rts))] if rts else None),
        "mz_range": meta.get(
            "mz_range", [float(np.min(mz_lo)), float(np.max(mz_hi))] if mz_lo else None),
        "instrument": _first_meta(ds, "instrument"),
        "ionization": _first_meta(ds, "ionization"),
    }


def readable(value):
    """A value as a person reads it: floats to 12 significant digits (510.28, not
    510.28000000000003), also inside lists, tuples and dicts.  Text output only: ``--json``
    keeps every digit."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(readable(v) for v in value)
    return value


def format_text(report: dict) -> str:
    """Human-readable ``fentid info`` output."""
    lines = [f"{report['path']}"]
    skip = {"path", "header", "problems"}
    for key, value in report.items():
        if key in skip or value is None:
            continue
        lines.append(f"  {key:<28} {readable(value)}")
    header = report.get("header") or {}
    if header:
        lines.append("  header:")
        for key, value in header.items():
            lines.append(f"    {key:<26} {readable(value)}")
    for problem in report.get("problems", []):
        lines.append(f"  problem: {problem}")
    return "\n".join(lines) + "\n"
