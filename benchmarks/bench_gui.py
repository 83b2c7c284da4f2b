"""Viewer benchmarks: pan/zoom frame time on a 1,000,000-point spectrum, and time to first
plot for yellow.D and a ~1 GB generated profile mzML.

Baseline (same run): the same 1M-point line drawn without pyqtgraph's downsampling and
clip-to-view.  Frames are rendered offscreen (QT_QPA_PLATFORM=offscreen, software raster),
so the absolute times are those of this machine's CPU; the ratio is the point.

Time to first plot: from ``MainWindow.open_files`` to the window showing the report
(identify in the worker thread, then chromatogram, spectrum, hit list and mirror drawn),
against a library built from SWGDRUG39.msp in a temporary folder.

Usage::

    PYTHONPATH=src python benchmarks/bench_gui.py [--frames 40] [--big-gb 1.0] [--skip-big]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))


def spectrum_1m(n: int = 1_000_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An NMR-like line: 200 Lorentzians on noise over 0-12 ppm."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 12.0, n)
    y = rng.normal(0, 1e-3, n)
    for centre, height in zip(rng.uniform(0.5, 11.5, 200), rng.uniform(0.05, 1.0, 200),
                              strict=True):
        y += height / (1 + ((x - centre) / 0.002) ** 2)
    return x, y


def frame_times(app, smooth: bool, frames: int) -> list[float]:
    """Seconds per pan/zoom frame: set a new x range, repaint synchronously."""
    import pyqtgraph as pg

    x, y = spectrum_1m()
    w = pg.PlotWidget()
    w.resize(1200, 600)
    w.show()
    item = w.plot(x, y, pen=pg.mkPen("#1f3b73"))
    if smooth:
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
    w.getViewBox().invertX(True)
    app.processEvents()
    times = []
    for k in range(frames):
        # alternate zooms (full width down to 0.2 ppm) and pans across the spectrum
        width = 12.0 / (1 + (k % 10) * 6)
        centre = 0.5 * width + (11.0 - width) * ((k * 0.37) % 1.0)
        t0 = time.perf_counter()
        w.setXRange(centre - width / 2, centre + width / 2, padding=0)
        app.processEvents()
        w.viewport().repaint()
        times.append(time.perf_counter() - t0)
    w.close()
    return times


def first_plot(app, library, path) -> float:
    """Seconds from open_files to the report drawn."""
    from PySide6.QtCore import QEventLoop

    from fentid.gui.window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(library=library, case_path=Path(tmp) / "case.jsonl",
                            interactive=False)
        window.resize(1600, 1000)
        window.show()
        loop = QEventLoop()
        done = {}

        def ready() -> None:
            done["t"] = time.perf_counter()
            loop.quit()

        def failed(message: str) -> None:
            done["error"] = message
            loop.quit()

        window.report_ready.connect(ready)
        window.job_failed.connect(failed)
        t0 = time.perf_counter()
        window.open_files([str(path)])
        loop.exec()
        window.runner.wait()
        if "error" in done:
            raise SystemExit(f"{path}: {done['error']}")
        app.processEvents()  # the first paint
        elapsed = time.perf_counter() - t0
        window.close()
    return elapsed


def stats(times: list[float]) -> str:
    ms = np.asarray(times) * 1e3
    return (f"median {statistics.median(ms):7.1f} ms, p95 {np.percentile(ms, 95):7.1f} ms, "
            f"max {ms.max():7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--big-gb", type=float, default=1.0)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    from fentid.gui.app import application

    app = application(offscreen=True)
    fast = frame_times(app, True, args.frames)
    slow = frame_times(app, False, args.frames)
    print(f"pan/zoom frame, 1,000,000 points, downsampling + clip-to-view: {stats(fast)}")
    print(f"pan/zoom frame, 1,000,000 points, plain line (baseline):       {stats(slow)}")
    print(f"median ratio baseline / downsampled: "
          f"{statistics.median(slow) / statistics.median(fast):.1f}x")

    from fentid.curation import import_sources
    from fentid.reference_library import create

    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "swgdrug39.h5"
        create(lib, name="bench", curator="bench")
        import_sources(lib, [DATA / "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"],
                       curator="bench")
        yellow = DATA / "formats/agilent_d/yellow.D"
        print(f"time to first plot, yellow.D (43 components): {first_plot(app, lib, yellow):.2f} s")
        if not args.skip_big:
            spec = importlib.util.spec_from_file_location(
                "make_big_mzml", ROOT / "benchmarks" / "make_big_mzml.py")
            maker = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(maker)
            big = Path(tmp) / "big.mzML"
            n = maker.write_big_mzml(big, int(args.big_gb * (1 << 30)))
            size = big.stat().st_size / 1e6
            print(f"time to first plot, generated profile mzML ({size:.0f} MB, {n} scans): "
                  f"{first_plot(app, lib, big):.1f} s")


if __name__ == "__main__":
    main()
