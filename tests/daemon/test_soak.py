"""Soak: many acquisitions through one service; its memory stays flat.

400 acquisitions (copies of real NIST MSP spectra, mzXML, JCAMP-DX MS and mzML runs,
under new names) arrive in 8 batches of 50 while one service runs with 2 workers (never
recycled).  The resident set size of the service and of each worker is read from
``/proc/<pid>/status`` (Linux, where this suite runs) after the first two batches (warm: every code path loaded, every
search index built) and after the last; the total may grow by less than 10 %.
``benchmarks/bench_watch.py --soak 2000`` runs the same with 2,000 acquisitions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import FORMATS
from tests.daemon.helpers import NIST_MSP, current, service_cmd, start, stop, wait_for
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

SMALL_SOURCES = [*map(Path, NIST_MSP), FORMATS / "mzxml/pyteomics/test.mzXML",
                 FORMATS / "mzxml/matchms/testdata.mzXML",
                 FORMATS / "jcamp_dx_ms/cheminfo/ethylbenzene_ei.jdx",
                 FORMATS / "mzml/matchms/testdata.mzml",
                 FORMATS / "mzml/mzdata/three_test_scans.mzML"]
BATCHES, PER_BATCH, WARM_BATCHES = 8, 50, 2


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def service_rss(proc, state) -> dict[int, int]:
    """RSS of the service and of its workers (pids from its status.json)."""
    status = json.loads((state / "status.json").read_text())
    return {pid: rss_kb(pid) for pid in [proc.pid, *status["workers"]]}


def test_soak_rss_stays_flat(tmp_path, swgdrug_lib):
    watch, out, state = tmp_path / "watch", tmp_path / "out", tmp_path / "state"
    watch.mkdir()
    proc = start(service_cmd(watch, out, state, swgdrug_lib, "--settle", 0.3, "--workers", 2,
                             "--rescan", 30), tmp_path / "service.log")
    samples = []
    try:
        n = 0
        for batch in range(BATCHES):
            for _ in range(PER_BATCH):
                src = SMALL_SOURCES[n % len(SMALL_SOURCES)]
                shutil.copyfile(src, watch / f"{n:04d}_{src.name}")
                n += 1
            expected = n
            wait_for(lambda e=expected: sum(r["state"] == "done"
                                            for r in current(state).values()) >= e,
                     300, f"batch {batch} reported", proc=proc)
            if batch + 1 >= WARM_BATCHES:
                samples.append(service_rss(proc, state))
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    warm, last = samples[0], samples[-1]
    assert warm.keys() == last.keys()  # the same worker processes throughout
    growth = sum(last.values()) / sum(warm.values()) - 1
    print(f"\nsoak {BATCHES * PER_BATCH}: RSS {sum(warm.values()) / 1024:.0f} MiB after "
          f"{WARM_BATCHES * PER_BATCH}, {sum(last.values()) / 1024:.0f} MiB at the end "
          f"({growth:+.1%}); per process {warm} -> {last}")
    assert growth < 0.10
