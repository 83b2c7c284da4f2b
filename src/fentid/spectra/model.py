"""The immutable data model shared by every part of fentid.

``Spectrum``, ``PeakList``, ``Fid`` and ``Run`` copy their arrays in the
constructor, make them read-only and check their invariants there; a
violation raises :class:`~fentid.errors.SpectrumError`.  Processing never
mutates: it returns a new object through ``evolve(step, params, **changes)``,
which appends the step to the provenance.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from fentid.cancellation import check as check_cancelled
from fentid.errors import SpectrumError
from fentid.spectra.ionization import normalized_metadata

UNITS = ("ppm", "Hz", "m/z", "s")
TECHNIQUES = ("nmr", "ms")


def _fentid_version() -> str:
    from fentid import __version__

    return __version__


def _freeze(value: Any) -> Any:
    """Return a hashable, immutable version of a parameter value."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _frozen_metadata(metadata) -> MappingProxyType:
    """Read-only metadata with ``ionization`` normalised to one code (see spectra.ionization)."""
    return MappingProxyType(normalized_metadata(metadata))


def _names_source(post_init):
    """Make the invariant errors of a model class name the file it was read from.

    ``SpectrumError("FID data must be finite")`` alone leaves a user without the
    file; the provenance knows it.
    """
    @functools.wraps(post_init)
    def checked(self):
        try:
            post_init(self)
        except SpectrumError as exc:
            source = getattr(self.provenance, "source", "")
            if exc.path is None and source:
                raise SpectrumError(exc.message, source) from exc
            raise
    return checked


#: m/z beyond this is no mass spectrum any instrument records (MALDI-TOF reaches ~10^5).
MAX_MZ = 1.0e6


def _check_mz(mz: np.ndarray) -> None:
    """m/z values a mass spectrometer can record: 0 <= m/z <= MAX_MZ (damaged files decode
    to 1e30 or negative masses; caught here, the message names the first one)."""
    if mz.size and (mz.min() < 0 or mz.max() > MAX_MZ):
        bad = mz[(mz < 0) | (mz > MAX_MZ)][0]
        raise SpectrumError(f"m/z value {bad:.6g} is impossible for a mass spectrum (outside "
                            f"0-{MAX_MZ:g}): the data are damaged")


def _readonly(values, dtype, name: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise SpectrumError(f"{name} cannot be converted to {np.dtype(dtype)}: {exc}") from exc
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Step:
    """One processing step: the function name and its keyword parameters (units in names)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "params", _freeze(dict(self.params)))

    def as_dict(self) -> dict:
        return {"name": self.name, "params": _thaw(self.params)}


def _thaw(value):
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Provenance:
    """Where a piece of data came from and everything done to it since.

    Attributes
    ----------
    source : str
        Path of the file or folder that was read.
    driver : str
        Name of the driver that read it.
    sha256 : str
        Hex digest of the source file; for a folder, of its sorted manifest
        (see :func:`hash_source`).
    fentid_version : str
        Version of fentid that read it.
    steps : tuple of Step
        Processing steps in the order they were applied.
    record : int or None
        1-based position of the record in a multi-record file (MSP, MGF, ...).
    """

    source: str = ""
    driver: str = ""
    sha256: str = ""
    fentid_version: str = field(default_factory=_fentid_version)
    steps: tuple[Step, ...] = ()
    record: int | None = None

    def with_step(self, name: str, params: Mapping[str, Any] | None = None) -> Provenance:
        return dataclasses.replace(self, steps=self.steps + (Step(name, params or {}),))

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "driver": self.driver,
            "sha256": self.sha256,
            "fentid_version": self.fentid_version,
            "record": self.record,
            "steps": [s.as_dict() for s in self.steps],
        }


def hash_source(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file, or of a folder's sorted manifest.

    A folder's manifest is one line per regular file below it,
    ``<relative posix path>\\0<sha256 of the file>\\n``, sorted by path, so
    the digest changes when any file's name or content changes.

    Parameters
    ----------
    path : path-like
        File or directory.
    chunk_bytes : int
        Read size in bytes; files are streamed, never loaded whole.
    """
    path = Path(path)
    if path.is_dir():
        lines = []
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            rel = p.relative_to(path).as_posix()
            lines.append(f"{rel}\0{hash_source(p, chunk_bytes)}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
            check_cancelled()  # hashing 1 GB takes seconds: a viewer's Cancel stops it
    return digest.hexdigest()


class _Evolvable:
    """Mixin: ``evolve`` returns a copy with changes and one more provenance step."""

    def evolve(self, step: str, params: Mapping[str, Any] | None = None, **changes):
        """Return a new object with ``changes`` applied and ``step`` recorded.

        Parameters
        ----------
        step : str
            Name of the processing function.
        params : mapping, optional
            Its keyword parameters, with units in their names.
        **changes
            Field values of the new object.
        """
        prov = self.provenance.with_step(step, params)
        return dataclasses.replace(self, provenance=prov, **changes)

    def replace(self, **changes):
        """Return a copy with fields changed, provenance untouched (for drivers)."""
        return dataclasses.replace(self, **changes)


def _check_technique(technique: str, nucleus: str | None):
    if technique not in TECHNIQUES:
        raise SpectrumError(f"technique must be one of {TECHNIQUES}, not {technique!r}")
    if technique == "ms" and nucleus:
        raise SpectrumError("nucleus is for NMR only")


@dataclass(frozen=True, eq=False)
class Spectrum(_Evolvable):
    """A 1-D spectrum: ascending ``axis`` and matching ``intensities``.

    Attributes
    ----------
    axis : ndarray of float64, shape (n,)
        Ascending positions in ``unit`` (ppm, Hz or m/z). Display direction
        (NMR ppm right-to-left) is the viewer's job.
    intensities : ndarray of float64, shape (n,)
        Finite intensities, arbitrary units.
    unit : str
        ``"ppm"``, ``"Hz"`` or ``"m/z"``.
    technique : str
        ``"nmr"`` or ``"ms"``.
    nucleus : str or None
        ``"1H"``, ``"13C"``, ``"19F"``...; NMR only.
    centroided : bool
        True for MS stick spectra (each point is a peak).
    metadata : mapping
        Well-known keys with units in their names (``spectrometer_frequency_mhz``,
        ``solvent``, ``temperature_k``, ``ms_level``, ``precursor_mz``,
        ``ionization``, ``collision_energy_ev``, ``retention_time_s``,
        ``instrument``, ``acquired_at``, ``name``); vendor parameters verbatim
        under ``metadata["vendor"]``.
    provenance : Provenance
    """

    axis: np.ndarray
    intensities: np.ndarray
    unit: str
    technique: str
    nucleus: str | None = None
    centroided: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @_names_source
    def __post_init__(self):
        axis = _readonly(self.axis, np.float64, "axis")
        inten = _readonly(self.intensities, np.float64, "intensities")
        if axis.ndim != 1 or inten.ndim != 1:
            raise SpectrumError("axis and intensities must be 1-D")
        if axis.shape != inten.shape:
            raise SpectrumError(
                f"axis has {axis.size} points but intensities has {inten.size}"
            )
        if not (np.all(np.isfinite(axis)) and np.all(np.isfinite(inten))):
            raise SpectrumError("axis and intensities must be finite (no NaN or inf)")
        if axis.size > 1 and np.any(np.diff(axis) < 0):
            raise SpectrumError("axis must be ascending")
        if self.unit == "m/z":
            _check_mz(axis)
        if self.unit not in UNITS:
            raise SpectrumError(f"unit must be one of {UNITS}, not {self.unit!r}")
        _check_technique(self.technique, self.nucleus)
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "intensities", inten)
        object.__setattr__(self, "metadata", _frozen_metadata(self.metadata))

    def __len__(self) -> int:
        return self.axis.size

    @property
    def name(self) -> str | None:
        return self.metadata.get("name")

    def __repr__(self) -> str:
        rng = f"{self.axis[0]:.4g}..{self.axis[-1]:.4g}" if len(self) else "empty"
        return (
            f"Spectrum({self.technique}, {self.nucleus or ''}{' ' if self.nucleus else ''}"
            f"{len(self)} points, {rng} {self.unit}, centroided={self.centroided})"
        )


_PEAK_FIELDS = ("position", "intensity", "width", "area", "snr")


@dataclass(frozen=True, eq=False)
class PeakList(_Evolvable):
    """Picked peaks as parallel arrays, sorted by position.

    Attributes
    ----------
    position : ndarray of float64, shape (n,)
        Peak positions in ``unit`` (ppm for NMR, m/z for MS), ascending.
    intensity : ndarray of float64, shape (n,)
        Peak heights (same units as the spectrum's intensities).
    width : ndarray of float64, shape (n,)
        Full width at half maximum in ``unit``; NaN when unknown.
    area : ndarray of float64, shape (n,)
        Integral over the peak in intensity x ``unit``; NaN when unknown.
    snr : ndarray of float64, shape (n,)
        Height over the noise standard deviation; NaN when unknown.
    unit, technique, nucleus, metadata, provenance
        As for :class:`Spectrum`.
    """

    position: np.ndarray
    intensity: np.ndarray
    width: np.ndarray | None = None
    area: np.ndarray | None = None
    snr: np.ndarray | None = None
    unit: str = "m/z"
    technique: str = "ms"
    nucleus: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @_names_source
    def __post_init__(self):
        pos = _readonly(self.position, np.float64, "position")
        if pos.ndim != 1:
            raise SpectrumError("position must be 1-D")
        n = pos.size
        arrays = {"position": pos}
        for name in _PEAK_FIELDS[1:]:
            raw = getattr(self, name)
            arr = np.full(n, np.nan) if raw is None else _readonly(raw, np.float64, name)
            if arr.shape != (n,):
                raise SpectrumError(f"{name} has {arr.size} values but position has {n}")
            arr.setflags(write=False)
            arrays[name] = arr
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(arrays["intensity"]))):
            raise SpectrumError("peak positions and intensities must be finite")
        if n > 1 and np.any(np.diff(pos) < 0):
            raise SpectrumError("peak positions must be ascending")
        if self.unit == "m/z":
            _check_mz(pos)
        if self.unit not in UNITS:
            raise SpectrumError(f"unit must be one of {UNITS}, not {self.unit!r}")
        _check_technique(self.technique, self.nucleus)
        for name, arr in arrays.items():
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "metadata", _frozen_metadata(self.metadata))

    @classmethod
    def from_unsorted(cls, position, intensity, **kwargs) -> PeakList:
        """Build a PeakList from peaks in any order (sorted here by position)."""
        position = np.asarray(position, dtype=np.float64)
        order = np.argsort(position, kind="stable")
        extra = {
            k: (None if kwargs.get(k) is None else np.asarray(kwargs[k], dtype=float)[order])
            for k in ("width", "area", "snr")
        }
        kwargs.update(extra)
        return cls(position[order], np.asarray(intensity, dtype=np.float64)[order], **kwargs)

    def __len__(self) -> int:
        return self.position.size

    @property
    def name(self) -> str | None:
        return self.metadata.get("name")

    def __repr__(self) -> str:
        return f"PeakList({self.technique}, {len(self)} peaks, unit={self.unit})"


@dataclass(frozen=True, eq=False)
class Fid(_Evolvable):
    """Complex time-domain NMR data and what processing needs.

    Attributes
    ----------
    data : ndarray of complex128, shape (n,) or (n_indirect, ..., n)
        Complex points, last axis the directly detected dimension.
    sw_hz : float
        Spectral width of the direct dimension in Hz.
    obs_mhz : float
        Spectrometer (observe) frequency in MHz.
    carrier_ppm : float
        Chemical shift at the centre of the spectrum in ppm (transmitter offset).
    nucleus : str
        ``"1H"``, ``"13C"``, ``"19F"``...
    group_delay : float
        Digital-filter group delay in points (Bruker DSP); 0 when none.
    metadata : mapping
        As for :class:`Spectrum`; vendor phases under ``vendor_phase_deg``
        (``{"p0": .., "p1": ..}``) when the vendor recorded them, and indirect
        dimensions under ``indirect`` (list of dicts with ``sw_hz``, ``obs_mhz``,
        ``nucleus``, ``points``).
    provenance : Provenance
    """

    data: np.ndarray
    sw_hz: float
    obs_mhz: float
    carrier_ppm: float
    nucleus: str
    group_delay: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @_names_source
    def __post_init__(self):
        data = _readonly(self.data, np.complex128, "data")
        if data.ndim < 1 or data.shape[-1] < 2:
            raise SpectrumError("an FID needs at least two complex points")
        if not np.all(np.isfinite(data)):
            raise SpectrumError("FID data must be finite")
        for name in ("sw_hz", "obs_mhz"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value > 0):
                raise SpectrumError(f"{name} must be a positive number, not {value!r}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "carrier_ppm", float(self.carrier_ppm))
        object.__setattr__(self, "group_delay", float(self.group_delay))
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "metadata", _frozen_metadata(self.metadata))

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def points(self) -> int:
        """Complex points in the direct dimension."""
        return self.data.shape[-1]

    def __repr__(self) -> str:
        return f"Fid({self.nucleus}, shape={self.data.shape}, {self.obs_mhz:.4f} MHz)"


@dataclass(frozen=True, eq=False)
class Run(_Evolvable):
    """An LC/GC-MS acquisition: scans with retention times and their peaks.

    Per-scan peaks are concatenated (pyteomics mzMLb style): scan ``i`` owns
    ``mz[offsets[i]:offsets[i + 1]]``.

    Attributes
    ----------
    retention_time_s : ndarray of float64, shape (n_scans,)
        Scan start times in seconds, non-decreasing.
    offsets : ndarray of int64, shape (n_scans + 1,)
        Start of each scan in the concatenated arrays; ``offsets[-1] == mz.size``.
    mz : ndarray of float64, shape (n_points,)
        m/z values, ascending within each scan.
    intensity : ndarray of float64, shape (n_points,)
    ms_level : ndarray of int8, shape (n_scans,)
    centroided : bool
    precursor_mz : ndarray of float64, shape (n_scans,), optional
        NaN for MS1 scans.
    metadata, provenance
        As for :class:`Spectrum` (``ionization``, ``instrument``, ``polarity``).
    """

    retention_time_s: np.ndarray
    offsets: np.ndarray
    mz: np.ndarray
    intensity: np.ndarray
    ms_level: np.ndarray | None = None
    centroided: bool = True
    precursor_mz: np.ndarray | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @_names_source
    def __post_init__(self):
        rt = _readonly(self.retention_time_s, np.float64, "retention_time_s")
        offsets = _readonly(self.offsets, np.int64, "offsets")
        mz = _readonly(self.mz, np.float64, "mz")
        inten = _readonly(self.intensity, np.float64, "intensity")
        n = rt.size
        if offsets.shape != (n + 1,) or (n + 1 and offsets[0] != 0):
            raise SpectrumError("offsets must have n_scans + 1 entries starting at 0")
        if offsets[-1] != mz.size or mz.shape != inten.shape:
            raise SpectrumError("offsets, mz and intensity disagree in length")
        if np.any(np.diff(offsets) < 0):
            raise SpectrumError("offsets must be non-decreasing")
        if not (np.all(np.isfinite(rt)) and np.all(np.isfinite(mz))
                and np.all(np.isfinite(inten))):
            raise SpectrumError("retention times, m/z and intensities must be finite")
        _check_mz(mz)
        levels = np.ones(n, np.int8) if self.ms_level is None else self.ms_level
        levels = _readonly(levels, np.int8, "ms_level")
        prec = np.full(n, np.nan) if self.precursor_mz is None else self.precursor_mz
        prec = _readonly(prec, np.float64, "precursor_mz")
        if levels.shape != (n,) or prec.shape != (n,):
            raise SpectrumError("ms_level and precursor_mz need one value per scan")
        for name, arr in (("retention_time_s", rt), ("offsets", offsets), ("mz", mz),
                          ("intensity", inten), ("ms_level", levels), ("precursor_mz", prec)):
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "metadata", _frozen_metadata(self.metadata))

    @property
    def n_scans(self) -> int:
        return self.retention_time_s.size

    def scan(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (mz, intensity) views of scan ``i``."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.mz[lo:hi], self.intensity[lo:hi]

    def tic(self) -> np.ndarray:
        """Total ion current per scan, shape (n_scans,)."""
        sums = np.add.reduceat(self.intensity, self.offsets[:-1]) if self.mz.size else None
        out = np.zeros(self.n_scans)
        if sums is not None:
            nonempty = np.diff(self.offsets) > 0
            out[nonempty] = sums[nonempty]
        return out

    def __repr__(self) -> str:
        return f"Run({self.n_scans} scans, {self.mz.size} points)"


@dataclass(frozen=True)
class RecordProblem:
    """A record of a multi-record file that could not be read."""

    record: int
    reason: str
    name: str | None = None

    def __str__(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"record {self.record}{label}: {self.reason}"

    def as_dict(self) -> dict:
        return {"record": self.record, "name": self.name, "reason": self.reason}


@dataclass(frozen=True, eq=False)
class Dataset:
    """What a driver read from one file or folder.

    Attributes
    ----------
    path : str
        The file or folder.
    driver : str
        Name of the driver that read it.
    technique : str
        ``"nmr"`` or ``"ms"``.
    items : tuple
        ``Fid``, ``Spectrum`` and/or ``Run`` objects, in file order.
    problems : tuple of RecordProblem
        Records of a multi-record file that could not be read (the others
        are in ``items``); empty for single-acquisition formats.
    metadata : mapping
        File-level facts for ``fentid info`` (``dimensions``, ``points``, ...).
    sha256 : str
        Digest of the source (see :func:`hash_source`).
    """

    path: str
    driver: str
    technique: str
    items: tuple = ()
    problems: tuple[RecordProblem, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sha256: str = ""

    def __post_init__(self):
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "metadata", _frozen_metadata(self.metadata))

    def of_type(self, cls) -> list:
        return [item for item in self.items if isinstance(item, cls)]
