"""The conclusion thresholds are what the measurement on real spectra gives.

benchmarks/measure_thresholds.py derives each EI threshold from distributions measured on
../shared/data (other labs' replicates of SWGDRUG compounds; SWGDRUG spectra searched with
their own compound removed; replicate spreads).  This test re-measures them (every 5th
spectrum for the absent-compound distribution, as ``--quick`` does) and fails when fentid's
defaults are not what the data give.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

from fentid.conclude import POLICIES

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_replicate_spread_default_is_not_below_the_measured_spread():
    mod = _load("measure_replicate_spread")
    measured = mod.replicate_spread(floor=POLICIES["identity"].tentative)
    assert 0 < measured <= POLICIES["identity"].replicate_spread


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    from fentid.searching import LibrarySearcher

    mod = _load("measure_thresholds")
    lib = tmp_path_factory.mktemp("thresholds") / "swgdrug39.h5"
    mod.build(lib)
    with LibrarySearcher(lib) as searcher:
        return mod.derive_ei(searcher, step=5)


def test_ei_defaults_are_the_measured_thresholds(measured):
    got, default = measured["policy"], POLICIES["identity"]
    for name in ("identified", "replicate_spread", "clear", "clear_margin", "min_matched_peaks",
                 "min_explained"):
        assert getattr(got, name) == pytest.approx(getattr(default, name)), name


def test_measurement_has_the_data_it_claims(measured):
    # 33 other-lab replicates of library compounds; 686 absent-compound queries (every 5th)
    assert len(measured["replicates"]) == 33 and len(measured["absent"]) == 686
    assert len(measured["pos"]) >= 20
