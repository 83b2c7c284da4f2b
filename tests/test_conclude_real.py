"""The EI conclusion policy's replicate spread is measured on real replicate spectra."""

import importlib.util
from pathlib import Path

from fentid.conclude import POLICIES

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "measure_replicate_spread.py"


def test_replicate_spread_default_is_not_below_the_measured_spread():
    spec = importlib.util.spec_from_file_location("measure_replicate_spread", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    measured = mod.replicate_spread(floor=POLICIES["identity"].tentative)
    assert 0 < measured <= POLICIES["identity"].replicate_spread
