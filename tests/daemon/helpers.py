"""Shared pieces of the watch-service tests: real sources, a writer, the service process,
and independent checks (our own sha256 of the final files, our own reading of the journal).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import FORMATS, ROOT

#: Real acquisitions, by kind: (path under formats/, folder?)
NIST_MSP = sorted(glob.glob(str(FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra"
                                          "/**/*.MSP"), recursive=True))
SOURCES = {
    "agilent": ["agilent_d/orange.D", "agilent_d/yellow.D"],
    "bruker": ["bruker_topspin/aspirin-1h/1", "bruker_topspin/VZBBI_13R03_GABA/1H",
               "bruker_topspin/VZBBI_13R03_GABA/13C", "bruker_topspin/cyclosporin_1h/1",
               "bruker_topspin/aspirin-1h-processed/1"],
    "mzml": ["mzml/pyteomics/test.mzML", "mzml/mzdata/small.mzML",
             "mzml/mzdata/three_test_scans.mzML", "mzml/matchms/testdata.mzml"],
    "mzxml": ["mzxml/pyteomics/test.mzXML", "mzxml/matchms/testdata.mzXML"],
    "nmrml": ["nmrml/VZBBI_13R03_GABA_1H.nmrML", "nmrml/VZBBI_13R03_GABA_13C.nmrML"],
    "jcamp": ["jcamp_dx_nmr/cheminfo/aspirin/1h.dx", "jcamp_dx_nmr/cheminfo/indometacin/1h.dx",
              "jcamp_dx_ms/cheminfo/ethylbenzene_ei.jdx", "jcamp_dx_nmr/cheminfo/varian/1h.jdx"],
    "jeol": ["jeol_delta/Rutin_3080ug200uL_DMSOd6_qHNMR_400MHz_Jeol.jdf"],
    "varian": ["varian_vnmr/proton.fid"],
    "andi": ["netcdf_andi/HP_MS.CDF"],
    "spinsolve": ["magritek_spinsolve/230213-131158 Proton (lyogel)"],
    "msp": [str(Path(p).relative_to(FORMATS)) for p in NIST_MSP],
}
#: Kinds whose completeness the service checks from the content (a writer may pause
#: mid-file longer than the settle time); for the others stability is the only sign.
CHECKED_KINDS = ("agilent", "bruker", "mzml", "mzxml", "nmrml", "jcamp", "varian")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(path: Path) -> str:
    """A file's SHA-256, or a folder's: SHA-256 of the ``relpath\\0sha256\\n`` lines of its
    files sorted by path (component by component: ``AcqData/x`` before ``AcqData-y``), the
    manifest Provenance documents, computed here independently."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    files = sorted((p.relative_to(path).parts, p) for p in path.rglob("*") if p.is_file())
    lines = [f"{'/'.join(parts)}\0{sha256_file(p)}\n" for parts, p in files]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def report_path(out: Path, rel: str, suffix: str = ".fentid.json") -> Path:
    return out.joinpath(*rel.split("/")).with_name(Path(rel).name + suffix)


def service_cmd(watch, out, state, library, *extra) -> list[str]:
    return [sys.executable, "-m", "fentid.cli", "watch", str(watch), "--out", str(out),
            "--state", str(state), "--library", str(library), *map(str, extra)]


def env() -> dict:
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + str(ROOT),
            "PYTHONWARNINGS": "ignore"}


def start(cmd, log_path: Path) -> subprocess.Popen:
    """Start the service in its own process group (so the test can kill it and its
    workers at once, as a power cut or systemd's SIGKILL does)."""
    fh = open(log_path, "ab")  # noqa: SIM115 - closed with the process by the caller
    return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env(),
                            start_new_session=True, stdin=subprocess.DEVNULL)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the service and its workers (the process group it leads)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def stop(proc: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, as systemd stops a service; returns the exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    finally:
        if proc.poll() is None:
            kill_group(proc)


def rows(state: Path) -> list[dict]:
    """Every journal row, read with sqlite3 directly (not through fentid)."""
    db = state / "journal.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM acquisitions ORDER BY id")]
    except sqlite3.OperationalError:  # created but no table yet
        return []
    finally:
        con.close()


def current(state: Path) -> dict[str, dict]:
    return {r["rel"]: r for r in rows(state) if r["current"]}


def wait_for(predicate, timeout: float, what: str, proc=None, poll: float = 0.25):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"service exited ({proc.returncode}) while waiting for {what}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def day_log(out: Path) -> list[dict]:
    events = []
    for p in sorted(out.glob("fentid-watch-*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(json.loads(line))
    return events
