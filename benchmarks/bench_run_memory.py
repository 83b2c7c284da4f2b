"""Peak memory of reading a ~1 GB profile mzML into a Run, and of ``fentid peaks`` on it.

Writes a synthetic profile mzML (``make_big_mzml.py``) under a temporary
folder, then measures in fresh subprocesses the peak resident memory (VmHWM
from /proc/self/status) of:

- ``fentid.drivers.read(path)``: streamed, profile scans past the 64 MB budget
  centroided as they are read (exact centroids kept in the Run);
- ``fentid peaks path --json``: streamed, scans also summed to nominal mass
  while read (what component extraction uses; target < 300 MB);
- baseline, same run: ``read(path, profile_budget_mb=inf)``, i.e. every profile
  scan kept as stored, which is what ``read`` did before it streamed
  (optional: ``--baseline``; needs several GB).

``--before-src DIR`` additionally runs the two measurements with another
checkout's ``src`` folder first on ``sys.path`` (e.g. the previous commit
extracted with ``git archive``), and prints the ratios. The file is deleted at
the end.

Usage::

    python benchmarks/bench_run_memory.py [--size-gb 1.0] [--baseline] [--before-src DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_big_mzml import write_big_mzml

_PEAK_RSS = """
def peak_rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
"""

_READ = _PEAK_RSS + """
import sys, time, warnings
warnings.simplefilter("ignore")
from fentid.drivers import read
from fentid.spectra.model import Run
t0 = time.perf_counter()
kw = {} if sys.argv[2] == "default" else {"profile_budget_mb": float("inf")}
ds = read(sys.argv[1], **kw)
run = ds.of_type(Run)[0]
print(run.n_scans, run.mz.size, time.perf_counter() - t0, peak_rss_mb())
"""

_PEAKS = _PEAK_RSS + """
import contextlib, io, json, sys, time
from fentid.cli import main
t0 = time.perf_counter()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["peaks", sys.argv[1], "--json"])
n = len(json.loads(out.getvalue())["components"]) if code == 0 else -1
print(code, n, time.perf_counter() - t0, peak_rss_mb())
"""

_IMPORTS = _PEAK_RSS + """
import fentid.cli, fentid.drivers.mzml, fentid.spectra.gcms
print(peak_rss_mb())
"""


def _run(code: str, args: list[str], src: str | None) -> list[str]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False, env=env, cwd=tempfile.gettempdir())
    if proc.returncode:
        return ["failed", proc.stderr.strip().splitlines()[-1][:200] if proc.stderr else ""]
    return proc.stdout.split()


def _report_read(label: str, out: list[str]) -> float | None:
    if out[0] == "failed":
        print(f"  {label}: failed: {out[1]}")
        return None
    scans, points, secs, rss = int(out[0]), int(out[1]), float(out[2]), float(out[3])
    print(f"  {label}: {scans} scans, {points} points in the Run, {secs:.1f} s, "
          f"peak RSS {rss:.0f} MB")
    return rss


def _report_peaks(label: str, out: list[str]) -> float | None:
    if out[0] == "failed":
        print(f"  {label}: failed: {out[1]}")
        return None
    code, comps, secs, rss = int(out[0]), int(out[1]), float(out[2]), float(out[3])
    print(f"  {label}: exit {code}, {comps} components, {secs:.1f} s, peak RSS {rss:.0f} MB")
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--tmp", default=None, help="folder for the generated file")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure read() keeping every profile scan (several GB)")
    parser.add_argument("--before-src", default=None,
                        help="src folder of an earlier checkout to measure the same way")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="fentid_runmem_", dir=args.tmp or "/tmp")
    path = Path(tmp) / "big_profile.mzML"
    try:
        t0 = time.perf_counter()
        n = write_big_mzml(path, int(args.size_gb * (1 << 30)))
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB, {n} profile MS1 scans) "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"  interpreter + imports alone: {float(_run(_IMPORTS, [], None)[0]):.0f} MB")
        now_read = _report_read("read()           (now)", _run(_READ, [str(path), "default"],
                                                                 None))
        now_peaks = _report_peaks("fentid peaks     (now)", _run(_PEAKS, [str(path)], None))
        if args.baseline:
            base = _report_read("read() baseline: profile kept (budget=inf)",
                                _run(_READ, [str(path), "keep"], None))
            if base and now_read:
                print(f"  ratio baseline/now for read(): {base / now_read:.1f}x")
        if args.before_src:
            before_read = _report_read("read()        (before)",
                                       _run(_READ, [str(path), "default"], args.before_src))
            before_peaks = _report_peaks("fentid peaks  (before)",
                                         _run(_PEAKS, [str(path)], args.before_src))
            if before_read and now_read:
                print(f"  ratio before/now, read(): {before_read / now_read:.1f}x")
            if before_peaks and now_peaks:
                print(f"  ratio before/now, fentid peaks: {before_peaks / now_peaks:.1f}x")
        print("  target: < 300 MB")
    finally:
        shutil.rmtree(tmp)
        print(f"deleted {tmp}")


if __name__ == "__main__":
    main()
