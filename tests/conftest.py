"""Shared fixtures: the real data in ../shared/data (a missing folder is an error, not a skip)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the suite never reads a user's own config file or library setting
os.environ["FENTID_CONFIG"] = os.devnull + ".fentid-tests-no-config.toml"
os.environ.pop("FENTID_LIBRARY", None)

# CI runs the same examples every time (a failure there is reproducible); local runs explore
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

if not (DATA / "formats" / "index.csv").is_file():
    raise pytest.UsageError(
        f"real test data not found at {DATA}: the suite needs ../shared/data beside the checkout "
        "(or FENTID_SHARED_DATA pointing at it)")

FORMATS = DATA / "formats"
MS = DATA / "ms"
NMR = DATA / "nmr"
COMPOUNDS = DATA / "compounds"


def load_index(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def formats_index() -> dict[str, dict]:
    return {row["path"]: row for row in load_index("formats/index.csv")}


def run_cli(*args: str, timeout: float = 600, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """Run ``fentid`` in a subprocess, as a user would, returning the completed process.

    ``env`` adds to (or overrides) the environment.
    """
    return subprocess.run(
        [sys.executable, "-m", "fentid.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
