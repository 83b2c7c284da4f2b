"""Watch-folder service: files per minute and latency, against `fentid identify` per file.

    python benchmarks/bench_watch.py [--files 60] [--settle 1] [--soak 2000]

Builds a library from SWGDRUG 3.9 (../shared/data) in a temporary folder, makes ``--files``
acquisitions (copies of real files: NIST MSP spectra, mzML, mzXML, JCAMP-DX, Bruker
folders, Agilent .D folders, in a fixed rotation) and measures, in the same run:

baseline
    ``fentid identify FILE --library LIB --json --out X``, one process per file, one after
    the other (what a cron job over the folder would do): files per minute, and latency =
    the time of each run (as if started the moment its file was complete).
service, backlog
    every acquisition already in the folder when ``fentid watch`` starts (2 workers):
    files per minute from the start of the service to the last report.
service, trickle
    the service running and idle; acquisitions appear one at a time (copied beside, then
    renamed into the watched folder: the rename is "acquisition complete"), 0.5 s apart;
    latency = journal ``done_at`` - rename time, p50 / p95.  It includes the settle time
    (``--settle``), which the service waits on purpose.
soak (``--soak N``)
    N small acquisitions in batches of 100 through one service; RSS of the service and its
    workers (``/proc``) after the first 200 and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
FORMATS = DATA / "formats"
MSP = sorted((FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra").rglob("*.MSP"))
MIXED = [*MSP[:12], FORMATS / "mzml/pyteomics/test.mzML", FORMATS / "mzml/mzdata/small.mzML",
         FORMATS / "mzxml/matchms/testdata.mzXML", FORMATS / "jcamp_dx_nmr/cheminfo/aspirin/1h.dx",
         FORMATS / "bruker_topspin/aspirin-1h/1", FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H",
         FORMATS / "agilent_d/orange.D", FORMATS / "netcdf_andi/HP_MS.CDF"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONWARNINGS": "ignore"}


def build_library(tmp: Path) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    from fentid.curation import import_sources
    from fentid.reference_library import create

    lib = tmp / "swgdrug39.h5"
    create(lib, name="swgdrug39", curator="bench")
    import_sources(lib, [DATA / "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"],
                   curator="bench")
    return lib


def place(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copyfile(src, dest)


def dest_name(k: int, src: Path) -> str:
    return f"{k:04d}_{src.parent.name}_{src.name}" if src.name == "1" or src.name == "1H" \
        else f"{k:04d}_{src.name}"


def journal_done(state: Path) -> dict[str, float]:
    db = state / "journal.sqlite"
    if not db.exists():
        return {}
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return {rel: t for rel, t in con.execute(
            "SELECT rel, done_at FROM acquisitions WHERE current = 1 AND state = 'done'")}
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


def start_service(watch, out, state, lib, settle, workers=2):
    cmd = [sys.executable, "-m", "fentid.cli", "-q", "watch", str(watch), "--out", str(out),
           "--state", str(state), "--library", str(lib), "--settle", str(settle),
           "--workers", str(workers), "--rescan", "60"]
    return subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop_service(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wait_done(state: Path, n: int, timeout: float = 1800) -> dict[str, float]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = journal_done(state)
        if len(done) >= n:
            return done
        time.sleep(0.05)
    raise SystemExit(f"timed out: {len(journal_done(state))} of {n} reported")


def pct(values, q) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def baseline(files: list[Path], lib: Path, tmp: Path) -> tuple[float, list[float]]:
    times = []
    t0 = time.monotonic()
    for k, f in enumerate(files):
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "fentid.cli", "identify", str(f), "--library",
                        str(lib), "--json", "--out", str(tmp / f"base{k}.json")],
                       env=env(), capture_output=True, check=False)
        times.append(time.monotonic() - t)
    return len(files) / (time.monotonic() - t0) * 60, times


def backlog(files, lib, tmp, settle) -> float:
    watch, out, state = tmp / "bl_watch", tmp / "bl_out", tmp / "bl_state"
    watch.mkdir()
    for k, f in enumerate(files):
        place(f, watch / dest_name(k, f))
    t0 = time.monotonic()
    proc = start_service(watch, out, state, lib, settle)
    wait_done(state, len(files))
    elapsed = time.monotonic() - t0
    stop_service(proc)
    return len(files) / elapsed * 60


def trickle(files, lib, tmp, settle, gap=0.5) -> list[float]:
    watch, out, state, stage = (tmp / n for n in ("tr_watch", "tr_out", "tr_state", "stage"))
    watch.mkdir()
    stage.mkdir()
    proc = start_service(watch, out, state, lib, settle)
    warm = FORMATS / "jcamp_dx_ms/cheminfo/ethylbenzene_ei.jdx"
    place(warm, watch / "warmup.jdx")
    wait_done(state, 1)  # workers up, code loaded
    complete = {}
    for k, f in enumerate(files):
        name = dest_name(k, f)
        place(f, stage / name)
        os.replace(stage / name, watch / name)
        complete[name] = time.time()
        time.sleep(gap)
    done = wait_done(state, len(files) + 1)
    stop_service(proc)
    return [done[name] - t for name, t in complete.items()]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def soak(n: int, lib: Path, tmp: Path) -> None:
    watch, out, state = tmp / "sk_watch", tmp / "sk_out", tmp / "sk_state"
    watch.mkdir()
    sources = [*MSP, FORMATS / "mzxml/pyteomics/test.mzXML",
               FORMATS / "jcamp_dx_ms/cheminfo/ethylbenzene_ei.jdx",
               FORMATS / "mzml/matchms/testdata.mzml"]
    proc = start_service(watch, out, state, lib, 0.3)
    t0, samples = time.monotonic(), []
    for start in range(0, n, 100):
        for k in range(start, min(n, start + 100)):
            src = sources[k % len(sources)]
            shutil.copyfile(src, watch / f"{k:05d}_{src.name}")
        wait_done(state, min(n, start + 100))
        status = json.loads((state / "status.json").read_text())
        pids = [proc.pid, *status["workers"]]
        samples.append((min(n, start + 100), {p: rss_kb(p) for p in pids}))
    elapsed = time.monotonic() - t0
    stop_service(proc)
    warm = next(s for k, s in samples if k >= 200)
    last = samples[-1][1]
    total = sum(last.values()) / sum(warm.values()) - 1
    print(f"soak: {n} acquisitions in {elapsed:.0f} s ({n / elapsed * 60:.0f} files/min); "
          f"RSS after 200: {sum(warm.values()) / 1024:.0f} MiB, at {n}: "
          f"{sum(last.values()) / 1024:.0f} MiB ({total:+.1%})")
    for pid in warm:
        print(f"  pid {pid}: {warm[pid] / 1024:.0f} -> {last.get(pid, 0) / 1024:.0f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--soak", type=int, default=0, help="also run a soak of N acquisitions")
    args = ap.parse_args()
    files = [MIXED[k % len(MIXED)] for k in range(args.files)]
    with tempfile.TemporaryDirectory(prefix="bench_watch_") as tmp_name:
        tmp = Path(tmp_name)
        lib = build_library(tmp)
        base_rate, base_times = baseline(files, lib, tmp)
        svc_rate = backlog(files, lib, tmp, args.settle)
        lat = trickle(files, lib, tmp, args.settle)
        print(f"{args.files} acquisitions ({len(MIXED)} real files in rotation: NIST MSP, mzML, "
              "mzXML, JCAMP-DX, Bruker, Agilent .D, netCDF)")
        print(f"baseline `fentid identify` per file: {base_rate:6.1f} files/min, latency p50 "
              f"{statistics.median(base_times):.2f} s, p95 {pct(base_times, 0.95):.2f} s")
        print(f"fentid watch (2 workers), backlog:   {svc_rate:6.1f} files/min "
              f"({svc_rate / base_rate:.1f}x the baseline)")
        print(f"fentid watch, trickle (settle {args.settle:g} s): latency p50 "
              f"{statistics.median(lat):.2f} s, p95 {pct(lat, 0.95):.2f} s "
              f"(minus the settle time: p50 {statistics.median(lat) - args.settle:.2f} s)")
        if args.soak:
            soak(args.soak, lib, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
