"""NMR pipeline: a real 64k-point Bruker 1H FID to picked peaks, fentid against naive nmrglue.

Input: ``formats/bruker_topspin/cyclosporin_1h/1`` (TD = 65536 numbers = 32768
complex points, 500 MHz, C6D6), read from disk on every repeat.

fentid: ``drivers.read`` -> ``nmr.process_default`` (apodisation, zero fill to
65536, group delay, FFT, automatic phasing seeded by the vendor phases and
checked, baseline, vendor referencing) -> ``peaks.pick_peaks``.

Baseline, the same pipeline written the way an nmrglue script does it:
``ng.bruker.read`` -> ``ng.bruker.remove_digital_filter`` -> ``proc_base.em`` ->
``proc_base.zf_size`` -> ``proc_base.fft`` -> ``proc_autophase.autops(..., "acme")`` ->
``proc_bl.baseline_corrector`` -> ``peakpick.pick`` (threshold 10 x noise, 4-point separation).

Prints the median wall time over ``--repeat`` runs of both, the ratio
(nmrglue / fentid), and whether fentid meets the 0.3 s target.

Usage::

    python benchmarks/bench_nmr_pipeline.py [--repeat 9] [--path EXPERIMENT_FOLDER]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
FID_FOLDER = DATA / "formats/bruker_topspin/cyclosporin_1h/1"
TARGET_S = 0.3


def fentid_pipeline(path: Path):
    from fentid.drivers import read
    from fentid.spectra import nmr, peaks

    fid = read(path).items[0]
    spectrum = nmr.process_default(fid)
    return spectrum, peaks.pick_peaks(spectrum)


def nmrglue_pipeline(path: Path):
    import nmrglue as ng

    dic, data = ng.bruker.read(str(path))
    data = ng.bruker.remove_digital_filter(dic, data)
    sw = dic["acqus"]["SW_h"]
    data = ng.proc_base.em(data, lb=0.3 / sw)
    data = ng.proc_base.zf_size(data, 65536)
    data = ng.proc_base.fft(data)
    data = ng.proc_autophase.autops(data, "acme", disp=False)
    real = ng.proc_bl.baseline_corrector(data.real)
    noise = np.std(real[:2000])
    return ng.peakpick.pick(real, pthres=10 * noise, algorithm="thres", msep=(4,), table=True)


def timed(func, path: Path, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--path", type=Path, default=FID_FOLDER)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    fentid_pipeline(args.path)  # warm imports and caches for both
    nmrglue_pipeline(args.path)
    ours, (spectrum, picked) = timed(fentid_pipeline, args.path, args.repeat)
    naive, table = timed(nmrglue_pipeline, args.path, max(3, args.repeat // 3))
    print(f"input: {args.path} (64k-point 1H FID)")
    print(f"fentid  read+process+pick: median {ours * 1e3:8.1f} ms  ({len(picked)} peaks, "
          f"phase check passed: {spectrum.metadata['phase']['checked']})")
    print(f"nmrglue naive pipeline:    median {naive * 1e3:8.1f} ms  ({len(table)} peaks)")
    print(f"ratio nmrglue / fentid: {naive / ours:.2f}x")
    print(f"target {TARGET_S:.1f} s per spectrum: {'met' if ours < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
