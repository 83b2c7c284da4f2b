"""Crash loop: 300 real acquisitions written slowly while the service is SIGKILLed 20 times.

A writer process (tests/daemon/writer.py) copies 300 acquisitions - copies of real files
from ../shared/data under new names: Bruker experiment folders, Agilent .D folders,
VnmrJ and Spinsolve folders, mzML, mzXML, nmrML, JCAMP-DX, JEOL, netCDF, NIST MSP -
into the watched folder in chunks with pauses, some stopping mid-file for twice the settle
time, and afterwards rewrites 10 of them with other content.  Meanwhile the service
(`fentid watch`, a real process with 2 worker processes) is killed with SIGKILL (its whole
process group, as a power cut or systemd does) at 20 moments drawn from a seeded RNG, and
restarted each time.  Afterwards:

- every acquisition has exactly one current report, ``OUT/<rel>.fentid.json``, whose
  sha256 (the driver's, of what it read) equals our own sha256 of the final file;
- no report was ever made from a partial file: every report event in the day log and
  every report file kept for an older version has the sha256 of a complete version
  (the original's or the replacement's);
- the journal agrees: one current row per acquisition, ``done``, naming that report,
  sha256 and library version; no row left ``processing``; no loose member file
  (``fid``, ``acqus``...) taken for an acquisition;
- no temporary report file is left, and the on-report command ran for every report.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import FORMATS
from tests.daemon.helpers import (
    CHECKED_KINDS,
    SOURCES,
    current,
    day_log,
    env,
    kill_group,
    read_json,
    report_path,
    rows,
    service_cmd,
    sha256_of,
    start,
    stop,
    wait_for,
)
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

SEED = 20261203
N_KILLS = 20
SETTLE = 1.5
#: How many of the 300 acquisitions come from each kind of source.
MIX = {"agilent": 12, "bruker": 40, "mzml": 45, "mzxml": 25, "nmrml": 12, "jcamp": 30,
       "jeol": 8, "varian": 10, "andi": 10, "spinsolve": 8, "msp": 100}
REPLACED = 10


def _dest_rel(i: int, kind: str, src: Path) -> str:
    batch = f"batch{i // 25:02d}"
    if kind == "bruker":  # dataset folder / experiment number, as TopSpin writes them
        return f"{batch}/{i:03d}_{src.parent.name}/{src.name}"
    return f"{batch}/{i:03d}_{src.name}"


def make_plan(rng: random.Random, watch: Path):
    kinds = [k for k, n in MIX.items() for _ in range(n)]
    rng.shuffle(kinds)
    plan, allowed, final = [], {}, {}
    for i, kind in enumerate(kinds):
        src = FORMATS / rng.choice(SOURCES[kind])
        rel = _dest_rel(i, kind, src)
        stall = 2 * SETTLE if kind in CHECKED_KINDS and rng.random() < 0.12 else 0.0
        plan.append({"src": str(src), "dest": str(watch / rel), "chunk": 32768,
                     "sleep": rng.uniform(0.002, 0.01), "stall": stall,
                     "gap": rng.uniform(0.0, 0.25)})
        allowed[rel] = {sha256_of(src)}
        final[rel] = src
    singles = [s for s in plan if Path(s["src"]).is_file() and Path(s["src"]).suffix.lower()
               in (".mzml", ".msp", ".dx", ".jdx")]
    for step in rng.sample(singles, REPLACED):
        rel = Path(step["dest"]).relative_to(watch).as_posix()
        kind = next(k for k, v in SOURCES.items()
                    if str(Path(step["src"]).relative_to(FORMATS)) in v)
        other = FORMATS / rng.choice([s for s in SOURCES[kind]
                                      if FORMATS / s != Path(step["src"])])
        plan.append({"src": str(other), "dest": step["dest"], "chunk": 32768, "sleep": 0.005,
                     "stall": 0.0, "gap": rng.uniform(0.5, 2.0)})
        allowed[rel].add(sha256_of(other))
        final[rel] = other
    return plan, allowed, {rel: sha256_of(src) for rel, src in final.items()}


def test_crash_loop_every_acquisition_once_never_partial(tmp_path, swgdrug_lib):
    rng = random.Random(SEED)
    watch, out, state = tmp_path / "watch", tmp_path / "out", tmp_path / "state"
    watch.mkdir()
    plan, allowed, final_sha = make_plan(rng, watch)
    assert len(allowed) == 300
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    hook_log = tmp_path / "hook.log"
    hook = tmp_path / "hook.py"
    hook.write_text("import sys\nwith open(sys.argv[1], 'a') as fh:\n"
                    "    fh.write(sys.argv[2] + '\\n')\n")
    cmd = service_cmd(watch, out, state, swgdrug_lib, "--settle", SETTLE, "--workers", 2,
                      "--rescan", 5, "--on-report",
                      f"{sys.executable} {hook} {hook_log} {{report}}")
    service_log = tmp_path / "service.log"
    writer = subprocess.Popen([sys.executable, "-m", "tests.daemon.writer", str(plan_file)],
                              env=env(), stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    proc = start(cmd, service_log)
    kills, busy_kills = 0, 0
    try:
        while kills < N_KILLS:
            time.sleep(rng.uniform(1.0, 4.0))
            if any(r["state"] == "processing" for r in rows(state)):
                busy_kills += 1
            kill_group(proc)
            kills += 1
            proc = start(cmd, service_log)
        assert writer.wait(600) == 0
        t_written = time.monotonic() - t0
        planned = set(allowed)

        def all_done():
            cur = current(state)
            return planned <= set(cur) and all(cur[r]["state"] == "done" for r in planned) \
                and all(cur[r]["sha256"] == final_sha[r] for r in planned)

        wait_for(all_done, 400, "every acquisition reported", proc=proc)
        t_done = time.monotonic() - t0
        wait_for(lambda: hook_log.exists() and len(set(hook_log.read_text().splitlines()))
                 >= len(planned), 60, "the on-report command for every report", proc=proc)
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            kill_group(proc)
        if writer.poll() is None:
            writer.kill()
    log_text = service_log.read_text(errors="replace")
    assert "Traceback" not in log_text
    assert busy_kills >= 3, f"only {busy_kills} kills landed while a worker was busy"

    everything = rows(state)
    cur = {r["rel"]: r for r in everything if r["current"]}
    assert set(cur) == planned  # no member file (fid, acqus...) taken for an acquisition
    assert not [r for r in everything if r["state"] == "processing"]
    for rel in planned:
        row = cur[rel]
        report = read_json(report_path(out, rel))
        assert row["state"] == "done" and row["report_path"] == str(report_path(out, rel))
        assert report["samples"][0]["sha256"] == final_sha[rel] == row["sha256"], rel
        assert report["acquisition"]["version"] == row["version"]
        assert report["acquisition"]["relative_path"] == rel
        assert report["library"]["library_version"] == row["library_version"]
        assert report_path(out, rel, ".fentid.txt").read_text().startswith(
            f"Acquisition: {rel} (version {row['version']})")
    # older versions: their reports kept under versioned names, each of a complete version
    for row in everything:
        if not row["current"] and row["state"] == "done":
            kept = read_json(Path(row["report_path"]))
            assert kept["acquisition"]["version"] == row["version"]
            assert kept["samples"][0]["sha256"] in allowed[row["rel"]]
    # never a report on a partial file: every report ever written had a complete version
    reports = [e for e in day_log(out) if e["event"] == "report"]
    assert {e["relative_path"] for e in reports} == planned
    for e in reports:
        assert e["sha256"] in allowed[e["relative_path"]], e
    assert not list(out.rglob(".fentid-tmp-*"))
    hooked = set(hook_log.read_text().splitlines())
    assert {str(report_path(out, rel)) for rel in planned} <= hooked
    print(f"\ncrash loop: {kills} SIGKILLs ({busy_kills} with a worker busy), "
          f"{len(reports)} report events for {len(planned)} acquisitions, "
          f"{sum(1 for r in everything if r['version'] > 1)} new versions; writer done "
          f"after {t_written:.0f} s, every report after {t_done:.0f} s")
