"""A writer process that copies acquisitions into a watched folder the way instruments do:
in place, file by file, in chunks with pauses, parameter files before the data file,
sometimes stopping mid-file for longer than the settle time (only for formats whose
completeness the service can see in the content), and sometimes rewriting an acquisition
it already wrote with other content (a new version).

Run as ``python -m tests.daemon.writer PLAN.json``; the plan is a list of steps::

    {"src": "/abs/source", "dest": "/abs/dest", "chunk": 65536, "sleep": 0.005,
     "stall": 0.0, "gap": 0.05}

Each step's end time (wall clock) is appended to ``PLAN.json.done`` as
``{"dest", "src", "finished"}`` lines, so a test can tell when each copy was complete.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

#: Files written first in a vendor folder (instruments write parameters before data).
FIRST = ("acqu", "acqus", "acqu2s", "procpar", "acqu.par", "contents.xml")
#: The main data files, written last and slowly.
DATA = ("fid", "ser", "data.ms", "msd1.ms", "datasim.ms", "data.1d", "1r", "1i")


def _order(src: Path) -> list[Path]:
    files = sorted(p for p in src.rglob("*") if p.is_file())

    def rank(p: Path):
        name = p.name.lower()
        return (0 if name in FIRST else 2 if name in DATA else 1, str(p))

    return sorted(files, key=rank)


def copy_file(src: Path, dest: Path, chunk: int, sleep: float, stall: float) -> None:
    """Write ``src`` to ``dest`` in place, ``chunk`` bytes at a time; ``stall`` s pause
    once, in the middle."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    middle = len(data) // 2
    stalled = False
    with open(dest, "wb") as fh:
        for start in range(0, max(1, len(data)), chunk):
            fh.write(data[start:start + chunk])
            fh.flush()
            if stall and not stalled and start + chunk >= middle:
                stalled = True
                time.sleep(stall)
            elif sleep:
                time.sleep(sleep)


def copy(src: Path, dest: Path, chunk: int, sleep: float, stall: float) -> None:
    if src.is_file():
        copy_file(src, dest, chunk, sleep, stall)
        return
    dest.mkdir(parents=True, exist_ok=True)
    ordered = _order(src)
    main = next((p for p in reversed(ordered) if p.name.lower() in DATA), None)
    for p in ordered:
        copy_file(p, dest / p.relative_to(src), chunk, sleep, stall if p == main else 0.0)


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    done = open(plan_path + ".done", "a", encoding="utf-8")  # noqa: SIM115
    for step in plan:
        copy(Path(step["src"]), Path(step["dest"]), step.get("chunk", 65536),
             step.get("sleep", 0.0), step.get("stall", 0.0))
        done.write(json.dumps({"dest": step["dest"], "src": step["src"],
                               "finished": time.time()}) + "\n")
        done.flush()
        os.fsync(done.fileno())
        time.sleep(step.get("gap", 0.0))
    done.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
