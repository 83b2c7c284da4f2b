"""pyqtgraph views: chromatogram, spectrum panel and mirror plot.

Each class wires data (a ComponentReport, a :class:`~fentid.gui.mirror.MirrorData`) to plot
items and keeps the arrays it drew in plain attributes (``drawn``), so tests compare what is
on screen with the component's own peaks.  Long lines (NMR spectra, TICs) use pyqtgraph's
peak downsampling and clip-to-view: only the visible part is drawn, at most a few points per
pixel, so pan and zoom stay smooth on a 1,000,000-point spectrum
(``benchmarks/bench_gui.py`` measures it).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from fentid.gui import style
from fentid.gui.mirror import MirrorData, signal_top, solvent_mask

#: Peaks labelled with their m/z in an MS stick plot (the strongest, spread apart).
MS_LABELS = 8
#: Integral regions smaller than this fraction of the largest are not drawn.
INTEGRAL_MIN = 0.05


def sticks(x, y, base: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Line segments (x, base)-(x, y) for one ``connect="pairs"`` PlotDataItem."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return np.repeat(x, 2), np.column_stack([np.full_like(y, base), y]).ravel()


def parse_ions(text: str) -> list[float]:
    """m/z values typed by the analyst: ``"m/z 245, 189"``, ``"245 189.1"`` -> [245.0, 189.1].

    Raises
    ------
    ValueError
        Nothing that reads as a positive m/z, naming what was typed.
    """
    cleaned = re.sub(r"(?i)m\s*/\s*z", " ", text)
    values = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", cleaned)]
    if not values or any(v <= 0 for v in values) or re.search(r"[^\d.,;\s]", cleaned):
        raise ValueError(f"not a list of m/z values: {text!r} (e.g. 'm/z 245, 189')")
    return values


def _pen(colour, width: float = 1.0):
    return pg.mkPen(QColor(colour), width=width)


def _label_positions(x, y, n: int, min_gap: float) -> list[int]:
    """Indices of the ``n`` strongest peaks at least ``min_gap`` apart (labels that do not
    overlap)."""
    chosen: list[int] = []
    for i in np.argsort(-np.asarray(y), kind="stable"):
        if all(abs(x[i] - x[j]) >= min_gap for j in chosen):
            chosen.append(int(i))
        if len(chosen) == n:
            break
    return chosen


def _smooth(item: pg.PlotDataItem) -> pg.PlotDataItem:
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


class ChromatogramPlot(pg.PlotWidget):
    """TIC (and typed extracted-ion traces) with every component marked, coloured by
    conclusion.  ``component_clicked(index)`` when a marker is clicked."""

    component_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLabel("bottom", "Retention time", units="s")
        self.setLabel("left", "Total ion current")
        self.showGrid(x=True, y=True, alpha=0.15)
        self.addLegend(offset=(-10, 10))
        self.report = None
        self.drawn: dict = {}
        self._traces: list = []
        self._markers = None
        self._cursor = pg.InfiniteLine(angle=90, movable=False,
                                       pen=pg.mkPen("#555555", style=Qt.PenStyle.DashLine))

    def show_report(self, report) -> None:
        """Draw the TIC of each run in the report and a marker per component."""
        self.clear()
        self.addItem(self._cursor)
        self._cursor.hide()
        self.report = report
        self.drawn = {"tic": [], "markers": [], "traces": {}}
        self._traces = []
        seen = set()
        for comp in report.components:
            chrom = comp.chromatogram
            if chrom is None or id(chrom) in seen:
                continue
            seen.add(id(chrom))
            item = _smooth(self.plot(chrom.retention_time_s, chrom.tic, pen=_pen(style.TIC),
                                     name="TIC"))
            self.drawn["tic"].append((item, chrom))
        spots = []
        for k, comp in enumerate(report.components):
            if comp.chromatogram is None or comp.retention_time_s is None:
                continue
            chrom = comp.chromatogram
            y = float(np.interp(comp.retention_time_s, chrom.retention_time_s, chrom.tic))
            colour = style.STATUS_COLOURS.get(comp.status, "#000000")
            spots.append({"pos": (comp.retention_time_s, y), "data": k,
                          "brush": pg.mkBrush(colour), "pen": pg.mkPen("w", width=0.5),
                          "size": 11, "symbol": "t" if comp.status != "no_match" else "o"})
            self.drawn["markers"].append((k, comp.retention_time_s, y, comp.status))
        self._markers = pg.ScatterPlotItem(spots=spots, hoverable=True)
        self._markers.sigClicked.connect(self._clicked)
        self.addItem(self._markers)
        self.enableAutoRange()

    def has_data(self) -> bool:
        return bool(self.drawn.get("tic"))

    def _clicked(self, _item, points, *_):
        if len(points):
            self.component_clicked.emit(int(points[0].data()))

    def set_traces(self, mzs: list[float], tolerance_da: float = 0.5) -> None:
        """Extracted-ion traces at ``mzs`` (each +- ``tolerance_da``) over every run."""
        for item in self._traces:
            self.removeItem(item)
        self._traces = []
        self.drawn["traces"] = {}
        for k, mz in enumerate(mzs):
            colour = style.TRACE_COLOURS[k % len(style.TRACE_COLOURS)]
            for _item, chrom in self.drawn.get("tic", []):
                y = chrom.eic(mz, tolerance_da)
                item = _smooth(self.plot(chrom.retention_time_s, y, pen=_pen(colour),
                                         name=f"m/z {mz:g}"))
                self._traces.append(item)
                self.drawn["traces"][mz] = y

    def select(self, index: int | None) -> None:
        """Mark component ``index`` with the cursor line."""
        comp = None if index is None or self.report is None else self.report.components[index]
        if comp is None or comp.retention_time_s is None:
            self._cursor.hide()
            return
        self._cursor.setValue(comp.retention_time_s)
        self._cursor.show()


class SpectrumPlot(pg.PlotWidget):
    """The component's spectrum: MS sticks with the main m/z labelled, or the NMR line on an
    inverted ppm axis with the picked peaks, integrals and the solvent/reference named."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.drawn: dict = {}

    def show_component(self, comp) -> None:
        self.clear()
        self.drawn = {}
        if comp is None:
            return
        if comp.technique.startswith("nmr") and comp.spectrum is not None:
            self._show_nmr(comp)
        else:
            self._show_ms(comp)

    # --- MS ----------------------------------------------------------------------------
    def _show_ms(self, comp) -> None:
        self.getViewBox().invertX(False)
        peaks = comp.peaks
        x = np.asarray(peaks.position, float)
        y = np.asarray(peaks.intensity, float)
        rel = y / y.max() * 100.0 if y.size and y.max() > 0 else y
        sx, sy = sticks(x, rel)
        self.plot(sx, sy, connect="pairs", pen=_pen(style.TIC, 1.5))
        self.drawn = {"kind": "ms", "position": x, "intensity": rel}
        span = (x.max() - x.min()) if x.size else 1.0
        for i in _label_positions(x, rel, MS_LABELS, span / 40 or 1.0):
            text = f"{x[i]:.0f}" if comp.technique == "ei" else f"{x[i]:.4f}"
            label = pg.TextItem(text, color="#202020", anchor=(0.5, 1.0))
            label.setPos(x[i], rel[i])
            self.addItem(label)
        self.setLabel("bottom", "m/z")
        self.setLabel("left", "Relative intensity", units="%")
        self.setTitle(f"{comp.name}: {len(x)} peaks")
        if x.size:
            self.setXRange(x.min() - 0.05 * span - 1, x.max() + 0.05 * span + 1)
            self.setYRange(0, 110)

    # --- NMR ---------------------------------------------------------------------------
    def _show_nmr(self, comp) -> None:
        spec = comp.spectrum
        self._top = signal_top(spec.axis, spec.intensities, spec.metadata.get("solvent"),
                               spec.nucleus)
        self.getViewBox().invertX(True)
        line = _smooth(self.plot(spec.axis, spec.intensities, pen=_pen(style.NMR_LINE)))
        peaks = comp.peaks
        y_at = np.interp(peaks.position, spec.axis, spec.intensities)
        self.plot(peaks.position, y_at, pen=None, symbol="t", symbolSize=7,
                  symbolBrush=pg.mkBrush("#e31a1c"), symbolPen=None)
        self.drawn = {"kind": "nmr", "axis": spec.axis, "intensity": spec.intensities,
                      "line": line, "peaks": np.asarray(peaks.position, float),
                      "labels": self._label_references(spec),
                      "integrals": self._integrals(spec, peaks)}
        nucleus = spec.nucleus or ""
        mhz = spec.metadata.get("spectrometer_frequency_mhz")
        field = f", {mhz:.2f} MHz" if isinstance(mhz, float) and math.isfinite(mhz) else ""
        self.setLabel("bottom", f"{nucleus} chemical shift", units="ppm")
        self.setLabel("left", "Intensity")
        self.setTitle(f"{comp.name}: {nucleus}{field}, {len(peaks)} peaks picked, "
                      f"{self.drawn['labels']['text']}")
        self.autoRange()
        top = self._top
        self.setYRange(-0.05 * top, 1.45 * top)

    def _label_references(self, spec) -> dict:
        """Name the residual solvent signal and the chemical-shift reference."""
        from fentid.spectra.nmr_reference import SOLVENT_SHIFTS, solvent_key

        solvent = spec.metadata.get("solvent")
        how = spec.metadata.get("referenced") or "not stated"
        top = self._top * 0.8
        out = {"solvent": solvent, "referenced": how, "solvent_ppm": None}
        key = solvent_key(solvent) if solvent else None
        shift = SOLVENT_SHIFTS.get(key or "", {}).get(spec.nucleus or "")
        if shift is not None and spec.axis[0] <= shift <= spec.axis[-1]:
            name = "HDO" if key == "d2o" else f"residual {solvent}"
            self._marker(shift, f"{name} {shift:.2f}", top, style.SOLVENT)
            out["solvent_ppm"] = shift
        if spec.axis[0] <= 0.0 <= spec.axis[-1]:
            self._marker(0.0, "0 ppm (TMS/DSS/TSP)", top * 0.9, style.SOLVENT)
        words = {"vendor": "referenced by the vendor software",
                 "standard": "referenced on the internal standard (0 ppm)",
                 "solvent": "referenced on the solvent signal",
                 "spectrometer": "spectrometer scale (not referenced)",
                 "unreferenced": "UNREFERENCED axis"}
        out["text"] = f"{solvent or 'solvent not stated'}; {words.get(how, how)}"
        return out

    def _marker(self, x: float, text: str, y: float, colour: str) -> None:
        line = pg.InfiniteLine(pos=x, angle=90, movable=False,
                               pen=pg.mkPen(colour, style=Qt.PenStyle.DotLine))
        self.addItem(line)
        # anchored on its right edge: on the inverted axis the text runs to higher ppm,
        # so a label at 0 ppm stays inside the plot
        label = pg.TextItem(text, color=colour, anchor=(1.0, 0.0))
        label.setPos(x, y)
        self.addItem(label)

    def _integrals(self, spec, peaks) -> list[dict]:
        """Integral curves over groups of picked peaks (multiplets) outside the solvent
        signal, labelled relative to the largest (1.00); groups below
        :data:`INTEGRAL_MIN` of it (satellites, noise) are left out."""
        regions = integral_regions(peaks.position, peaks.width, spec.nucleus)
        solvent = solvent_mask(spec.axis, spec.metadata.get("solvent"), spec.nucleus)
        out = []
        for lo, hi in regions:
            inside = (spec.axis >= lo) & (spec.axis <= hi)
            if inside.sum() < 2 or (inside & solvent).any():
                continue
            x = spec.axis[inside]
            y = np.cumsum(spec.intensities[inside]) * float(np.mean(np.diff(x)))
            out.append({"low": lo, "high": hi, "x": x, "curve": y, "area": float(y[-1])})
        largest = max((r["area"] for r in out), default=0.0)
        out = [r for r in out if largest > 0 and r["area"] >= INTEGRAL_MIN * largest]
        for r in out:
            r["relative"] = r["area"] / largest
            scaled = r["curve"] / largest * 0.25 * self._top + 1.1 * self._top
            self.plot(r["x"], scaled, pen=_pen(style.INTEGRAL, 1.2))
            label = pg.TextItem(f"{r['relative']:.2f}", color=style.INTEGRAL, anchor=(0.5, 1.0))
            label.setPos(float(np.mean(r["x"])), float(scaled.max()))
            self.addItem(label)
        return out


def integral_regions(position, width, nucleus: str | None) -> list[tuple[float, float]]:
    """Groups of picked peaks closer than a multiplet spacing, as (low, high) ppm.

    1H lines closer than 0.05 ppm (25 Hz at 500 MHz) are one multiplet; 13C lines stay
    single.  Each region extends two line widths past its outer lines.
    """
    pos = np.asarray(position, float)
    if pos.size == 0:
        return []
    wid = np.nan_to_num(np.asarray(width, float), nan=0.002)
    order = np.argsort(pos)
    pos, wid = pos[order], wid[order]
    gap = 0.05 if (nucleus or "1H") == "1H" else 0.0
    regions = []
    start = 0
    for i in range(1, pos.size + 1):
        if i == pos.size or pos[i] - pos[i - 1] > gap:
            regions.append((float(pos[start] - 2 * wid[start]), float(pos[i - 1] + 2 * wid[i - 1])))
            start = i
    return regions


class MirrorPlot(pg.PlotWidget):
    """Head-to-tail plot: query up, reference down; matched peaks in one colour, query-only
    and reference-only in others, the scanned m/z range shaded.  NMR: the query spectrum
    above and the reference (its stored spectrum, else its peak list) below, on the same
    inverted ppm axis."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.addLegend(offset=(-10, 10))
        self.drawn: dict = {}

    def show_mirror(self, data: MirrorData | None, query_label: str = "",
                    reference_label: str = "", query_spectrum=None,
                    reference_profile=None) -> None:
        """Draw ``data``; ``query_spectrum`` (Spectrum) and ``reference_profile``
        ((axis, intensity)) add the NMR lines."""
        self.clear()
        self.drawn = {}
        if data is None:
            self.setTitle("no hit to compare")
            return
        nmr = data.unit == "ppm"
        self.getViewBox().invertX(nmr)
        if data.range_mz is not None:
            self._shade(data)
        q, r = data, data
        sets = {"matched_query": q.query_position[q.query_matched],
                "query_only": q.query_position[~q.query_matched],
                "matched_reference": r.reference_position[r.reference_matched],
                "reference_only": r.reference_position[~r.reference_matched]}
        self.drawn = {"sets": sets, "data": data}
        if nmr:
            self._nmr_lines(query_spectrum, reference_profile, data.solvents)
        self._sticks(q.query_position, q.query_intensity, q.query_matched, +1, nmr)
        self._sticks(r.reference_position, r.reference_intensity, r.reference_matched, -1, nmr)
        self.addLine(y=0, pen=pg.mkPen("#404040"))
        if not nmr:
            self._labels(q.query_position, q.query_intensity, +1)
            self._labels(r.reference_position, r.reference_intensity, -1)
        self.setLabel("bottom", "chemical shift" if nmr else "m/z",
                      units="ppm" if nmr else None)
        self.setLabel("left", "query (up) / reference (down)", units="%")
        self.setTitle(f"{query_label}  vs  {reference_label}: {data.n_matched} of "
                      f"{data.reference_position.size} reference peaks matched")
        self.autoRange()
        self.setYRange(-115, 115)

    def _shade(self, data: MirrorData) -> None:
        lo, hi = data.range_mz
        if math.isinf(hi):
            hi = float(max(data.query_position.max(initial=lo),
                           data.reference_position.max(initial=lo))) + 5
        region = pg.LinearRegionItem(values=(lo, hi), movable=False,
                                     brush=pg.mkBrush(*style.SCANNED_RANGE), pen=pg.mkPen(None))
        region.setZValue(-10)
        self.addItem(region)
        self.drawn_range = (lo, hi)
        label = pg.TextItem(f"scanned m/z {lo:g}-{hi:g}", color="#1f5f8b", anchor=(0, 1))
        label.setPos(lo, -112)
        self.addItem(label)

    def _sticks(self, x, y, matched, sign: int, nmr: bool) -> None:
        side = "query" if sign > 0 else "reference"
        only = style.QUERY_ONLY if sign > 0 else style.REFERENCE_ONLY
        for mask, colour, name in ((matched, style.MATCHED, "matched"),
                                   (~matched, only, f"{side} only")):
            if not mask.any():
                continue
            label = name if (sign > 0 or name != "matched") else None
            if nmr:
                self.plot(x[mask], sign * y[mask], pen=None, symbol="t" if sign > 0 else "t1",
                          symbolSize=8, symbolBrush=pg.mkBrush(colour), symbolPen=None,
                          name=label)
            else:
                sx, sy = sticks(x[mask], sign * y[mask])
                self.plot(sx, sy, connect="pairs", pen=_pen(colour, 1.6), name=label)

    def _nmr_lines(self, spectrum, profile, solvents) -> None:
        """Query spectrum above, reference spectrum below, each scaled to its tallest line
        outside the solvent signal (the sticks are scaled the same way)."""
        nucleus = spectrum.nucleus if spectrum is not None else None
        if spectrum is not None and len(spectrum):
            y = np.asarray(spectrum.intensities, float)
            top = signal_top(spectrum.axis, y, solvents[0], nucleus)
            _smooth(self.plot(spectrum.axis, y / top * 100, pen=_pen("#7f7f7f", 0.8)))
        if profile is not None and len(profile[0]):
            ax, y = np.asarray(profile[0], float), np.asarray(profile[1], float)
            top = signal_top(ax, y, solvents[1] or solvents[0], nucleus)
            _smooth(self.plot(ax, -y / top * 100, pen=_pen("#7f7f7f", 0.8)))

    def _labels(self, x, y, sign: int) -> None:
        span = (x.max() - x.min()) if x.size else 1.0
        for i in _label_positions(x, y, 6, span / 30 or 1.0):
            label = pg.TextItem(f"{x[i]:.0f}", color="#202020",
                                anchor=(0.5, 1.0) if sign > 0 else (0.5, 0.0))
            label.setPos(x[i], sign * y[i])
            self.addItem(label)
