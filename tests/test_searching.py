"""LibrarySearcher: the numpy full scan of small libraries gives exactly the index's hits."""

from __future__ import annotations

import pytest

import fentid
from fentid.components import Component
from fentid.drivers import read
from fentid.spectra import nist_numpy
from fentid.spectra.ms_peaks import spectrum_to_peaks
from tests.conftest import MS
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

QUERIES = [MS / "NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP",
           MS / "NIST-FentanylClassifier/ExampleQuerySpectra/Type1Synthesize/463800.MSP",
           MS / "MassBank-data/RIKEN/MSBNK-RIKEN-PR010011.txt",
           MS / "SWGDRUG-3.4_NIST-EIMS-mass-predictions/3670.MSP",
           MS / "NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"]


def _components():
    out = []
    for path in QUERIES:
        for s in read(path).items[:8]:
            out.append(Component(name=str(path), peaks=spectrum_to_peaks(s)))
    return out


@pytest.mark.parametrize("algorithm", ["identity", "reverse", "similarity"])
def test_small_library_scan_equals_the_index(swgdrug_lib, algorithm, monkeypatch):
    comps = _components()
    with fentid.open_library(swgdrug_lib) as lib:
        assert lib._small("ei")
        small = [lib.search(c, algorithm, 50)[2] for c in comps]
    monkeypatch.setattr(nist_numpy, "SMALL_LIBRARY", 0)
    with fentid.open_library(swgdrug_lib) as lib:
        assert not lib._small("ei")
        indexed = [lib.search(c, algorithm, 50)[2] for c in comps]
    for a, b in zip(small, indexed, strict=True):
        assert [(h["entry_id"], h["score"], h["mf"], h["rmf"]) for h in a] == \
            [(h["entry_id"], h["score"], h["mf"], h["rmf"]) for h in b]
        assert len(a) == 50
