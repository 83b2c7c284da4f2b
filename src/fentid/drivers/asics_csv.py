"""ASICS-style CSV spectra: one processed 1H spectrum per file as ``grid_index, ppm,
intensity`` rows (only the non-zero points), under ``#`` comment lines.

Format notes
------------
Layout
    ``# ASICS pure_library spectrum "<name>" (column k of n); nb_protons=<n>``, then
    ``# grid: <N> points <first>..<last> ppm; ...`` and ``# acquisition (...): <text>``
    comment lines, a header ``grid_index,ppm,intensity`` and one row per non-zero point
    (``grid_index`` 1-based into the common grid).
Decisions
    * The spectrum is rebuilt on the full grid (points not listed are 0, as the source
      says), ascending ppm, as a processed, already referenced (``referenced="vendor"``)
      :class:`Spectrum`.  The acquisition line gives the field (``600 MHz``), the solvent
      (``D2O``) and the standard (``TSP``).
    * ``nb_protons`` is kept (``metadata["n_protons"]``); the name is the compound's.

Sources
    ASICS (Lefort et al., Bioinformatics 2019; Tardivel et al., Metabolomics 2017);
    ``../shared/data/nmr/asics_pure_library/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fentid.drivers._nmr_records import reference_name
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, Provenance, Spectrum, hash_source

NAME = "asics_csv"
_TITLE = re.compile(r'spectrum "([^"]+)"(?:.*?nb_protons=(\d+))?')
_GRID = re.compile(r"grid:\s*(\d+)\s*points\s*([-+\d.eE]+)\.\.([-+\d.eE]+)\s*ppm")
_REPR = re.compile(r"^\s*(?:np\.)?(?:float64|float32|int64)?\(?\s*([-+0-9.eE]+)\s*\)?\s*$")
_MHZ = re.compile(r"(\d+(?:\.\d+)?)\s*MHz")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(b"# ASICS") and b"grid_index,ppm,intensity" in head


def _rows(path: Path, skip: int) -> np.ndarray:
    """The data rows as floats; values may be Python reprs (``np.float64(3.61)``)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh, start=1):
            if k <= skip or not line.strip():
                continue
            try:
                out.append([float(_REPR.sub(r"\1", v)) for v in line.split(",")[:3]])
            except ValueError:
                raise CorruptDataError(f"line {k}: not three numbers: {line.strip()[:60]!r}",
                                       path) from None
    return np.asarray(out, float).reshape(-1, 3)


def read(path: Path) -> Dataset:
    path = Path(path)
    comments = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            comments.append(line[1:].strip())
    text = "\n".join(comments)
    title, grid = _TITLE.search(text), _GRID.search(text)
    if title is None or grid is None:
        raise CorruptDataError("ASICS CSV without its spectrum name or grid comment", path)
    rows = _rows(path, len(comments) + 1)
    n, first, last = int(grid.group(1)), float(grid.group(2)), float(grid.group(3))
    axis = np.linspace(first, last, n)
    y = np.zeros(n)
    if rows.size:
        idx = rows[:, 0].astype(int) - 1
        if idx.min() < 0 or idx.max() >= n:
            raise CorruptDataError(f"grid_index outside 1..{n}", path)
        y[idx] = rows[:, 2]
    acq = next((c for c in comments if c.lower().startswith("acquisition")), "")
    mhz = _MHZ.search(acq)
    meta = {"name": title.group(1), "n_protons": int(title.group(2)) if title.group(2)
            else None, "spectrometer_frequency_mhz": float(mhz.group(1)) if mhz else None,
            "solvent": "D2O" if "D2O" in acq else None, "shift_reference":
            reference_name(acq), "referenced": "vendor", "list_kind": "spectrum",
            "record_id": f"ASICS:pure_library:{title.group(1)}", "predicted": False}
    sha = hash_source(path)
    spec = Spectrum(axis, y, unit="ppm", technique="nmr", nucleus="1H", metadata=meta,
                    provenance=Provenance(source=str(path), driver=NAME, sha256=sha))
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=[spec], sha256=sha,
                   metadata={"points": n, "nonzero_points": int(rows.shape[0])})


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="nmr",
    description="ASICS-style CSV 1H spectrum (grid_index, ppm, intensity)",
    extensions=(".csv",),
))
