"""MS/MS cleaning (precursor region, noise cut, centroid merge, normalisation)."""

from __future__ import annotations

import ms_entropy
import numpy as np
import pytest

from fentid.errors import ProcessingError
from fentid.spectra import msms
from fentid.spectra.model import Spectrum
from tests.conftest import MS


def massbank_ms2_records(limit: int = 40):
    """(name, precursor, mz, intensity) of MassBank MS2 records, parsed here (tiny parser)."""
    out = []
    for path in sorted((MS / "MassBank-data").rglob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not any(line.startswith("AC$MASS_SPECTROMETRY: MS_TYPE MS2") for line in text):
            continue
        precursor, peaks, in_peaks = None, [], False
        for line in text:
            if line.startswith("MS$FOCUSED_ION: PRECURSOR_M/Z"):
                try:
                    precursor = float(line.split()[-1])
                except ValueError:
                    precursor = None
            if line.startswith("PK$PEAK:"):
                in_peaks = True
                continue
            if in_peaks:
                if line.startswith("//"):
                    break
                mz, inten = line.split()[:2]
                peaks.append((float(mz), float(inten)))
        if precursor and peaks:
            arr = np.array(peaks)
            out.append((path.name, precursor, arr[:, 0], arr[:, 1]))
        if len(out) >= limit:
            break
    return out


RECORDS = massbank_ms2_records()


def test_enough_real_records():
    assert len(RECORDS) >= 20


@pytest.mark.parametrize("record", RECORDS, ids=[r[0] for r in RECORDS])
def test_clean_arrays_equals_ms_entropy_on_massbank(record):
    _, precursor, mz, inten = record
    ref = ms_entropy.clean_spectrum(np.c_[mz, inten].astype(np.float32),
                                    max_mz=precursor - 1.6, noise_threshold=0.01,
                                    min_ms2_difference_in_da=0.05)
    got_mz, got_int = msms.clean_arrays(mz, inten, precursor_mz=precursor, normalize="sum")
    assert got_mz.size == ref.shape[0]
    np.testing.assert_allclose(got_mz, ref[:, 0], rtol=1e-6)
    np.testing.assert_allclose(got_int, ref[:, 1], rtol=1e-4, atol=1e-7)


def test_precursor_region_and_noise_are_removed():
    mz = np.array([50.0, 80.0, 120.0, 198.6, 199.0, 200.1])
    inten = np.array([100.0, 0.5, 40.0, 30.0, 90.0, 1000.0])
    got_mz, got_int = msms.clean_arrays(mz, inten, precursor_mz=200.1)
    # 198.6 and above are within 1.6 Da of the precursor; 80 is below 1 % of the new base
    np.testing.assert_array_equal(got_mz, [50.0, 120.0])
    np.testing.assert_array_equal(got_int, [100.0, 40.0])


def test_close_peaks_merge_weighted():
    got_mz, got_int = msms.clean_arrays([100.00, 100.03, 150.0], [300.0, 100.0, 50.0])
    assert got_mz[0] == pytest.approx((100.0 * 300 + 100.03 * 100) / 400)
    np.testing.assert_array_equal(got_int, [400.0, 50.0])


def test_clean_msms_spectrum_base_peak_999_and_provenance():
    spec = Spectrum([60.0, 91.05, 105.07, 188.14, 337.2], [10, 200, 50, 999, 5000], unit="m/z",
                    technique="ms", centroided=True,
                    metadata={"ms_level": 2, "precursor_mz": 337.2})
    peaks = msms.clean_msms(spec)
    assert peaks.position.max() < 337.2 - 1.6
    assert peaks.intensity.max() == pytest.approx(999.0)
    assert peaks.provenance.steps[-1].name == "clean_msms"


def test_bad_arguments_raise_processing_error():
    with pytest.raises(ProcessingError):
        msms.clean_arrays([1.0, 2.0], [1.0])
    with pytest.raises(ProcessingError):
        msms.clean_arrays([1.0], [1.0], normalize="area")
