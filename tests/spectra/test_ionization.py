"""One ionisation vocabulary: every driver's words map to one code, on construction."""

from __future__ import annotations

import numpy as np
import pytest

from fentid.drivers import read
from fentid.spectra.ionization import normalize_ionization
from fentid.spectra.model import PeakList, Run, Spectrum
from tests.conftest import FORMATS, MS


@pytest.mark.parametrize("text, code", [
    ("EI", "EI"), ("EI+", "EI"), ("Electron Impact", "EI"), ("electron ionization", "EI"),
    ("Electron Ionization", "EI"), ("MS:1000389", "EI"), ("GC-EI-TOF", "EI"), ("EIP", "EI"),
    ("CI", "CI"), ("Positive CI", "CI"), ("chemical ionization", "CI"), ("NCI", "CI"),
    ("ESI", "ESI"), ("ESI+", "ESI"), ("electrospray ionization", "ESI"), ("LC-ESI-QTOF", "ESI"),
    ("ESIN", "ESI"), ("nanoESI", "ESI"),
    ("APCI", "APCI"), ("atmospheric pressure chemical ionization", "APCI"),
    ("LC-APCI-QFT", "APCI"), ("MALDI", "MALDI"), ("DART", "DART"),
    ("", None), (None, None), ("thermospray?", None),
])
def test_vocabulary(text, code):
    assert normalize_ionization(text) == code


def test_model_normalises_once_and_keeps_the_files_words():
    s = Spectrum(np.array([1.0]), np.array([1.0]), unit="m/z", technique="ms",
                 metadata={"ionization": "Electron Impact"})
    assert s.metadata["ionization"] == "EI"
    assert s.metadata["ionization_raw"] == "Electron Impact"
    p = PeakList(np.array([1.0]), np.array([1.0]), metadata={"ionization": "electron ionization"})
    assert p.metadata["ionization"] == "EI"
    r = Run(np.array([0.0]), np.array([0, 1]), np.array([1.0]), np.array([1.0]),
            metadata={"ionization": "weird source"})
    assert r.metadata["ionization"] is None and r.metadata["ionization_raw"] == "weird source"


@pytest.mark.parametrize("path, code", [
    (FORMATS / "netcdf_andi" / "P071.CDF", "EI"),          # "Electron Impact"
    (FORMATS / "agilent_d" / "yellow.D", "EI"),
    (FORMATS / "waters_raw" / "blue.raw", "ESI"),          # MassLynx header: ESI+
])
def test_real_runs_carry_the_code(path, code):
    run = read(path).items[0]
    assert run.metadata["ionization"] == code


def test_deconvoluted_components_keep_the_runs_ionization_and_scan_range():
    from fentid.spectra import gcms

    run = read(FORMATS / "agilent_d" / "yellow.D").items[0]
    comps = gcms.extract_components(run)
    assert comps
    for c in comps:
        assert c.peaks.metadata["ionization"] == "EI"
        low, high = c.peaks.metadata["scan_range_mz"]
        # yellow.D scanned m/z 100-299 (its ions span 100.1-299.2)
        assert 100 <= low < 101 and 299 <= high < 300


def test_massbank_esi_record_is_not_ei():
    from fentid.curation import technique_of
    from fentid.spectra import gcms

    rec = MS / "MassBank-data/ACES_SU/MSBNK-ACES_SU-AS000159.txt"  # ESI MS2 caffeine
    item = read(rec).items[0]
    assert item.metadata["ionization"] == "ESI"
    assert technique_of(gcms.spectrum_to_peaks(item)) == "msms"
