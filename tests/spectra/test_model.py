import numpy as np
import pytest

from fentid.errors import SpectrumError
from fentid.spectra.model import Fid, PeakList, Run, Spectrum, hash_source


def make(n=8, **kw):
    return Spectrum(np.arange(n, dtype=float), np.ones(n), unit="ppm", technique="nmr",
                    nucleus="1H", **kw)


def test_arrays_are_copied_and_read_only():
    axis = np.arange(4.0)
    s = Spectrum(axis, np.ones(4), unit="m/z", technique="ms")
    axis[0] = 99
    assert s.axis[0] == 0
    with pytest.raises(ValueError):
        s.intensities[0] = 5


@pytest.mark.parametrize("axis, inten, msg", [
    ([0, 2, 1], [1, 1, 1], "ascending"),
    ([0, 1], [1, 1, 1], "points"),
    ([0, np.nan], [1, 1], "finite"),
    ([0, 1], [1, np.inf], "finite"),
])
def test_invariants_raise_spectrum_error(axis, inten, msg):
    with pytest.raises(SpectrumError, match=msg):
        Spectrum(axis, inten, unit="ppm", technique="nmr")


def test_evolve_appends_step_and_keeps_original():
    s = make()
    t = s.evolve("scale", {"factor": 2.0}, intensities=s.intensities * 2)
    assert s.provenance.steps == ()
    assert [st.name for st in t.provenance.steps] == ["scale"]
    assert t.provenance.steps[0].params["factor"] == 2.0
    np.testing.assert_array_equal(t.intensities, 2.0)


def test_peaklist_from_unsorted_sorts_all_columns():
    pl = PeakList.from_unsorted([3.0, 1.0, 2.0], [30, 10, 20], snr=[3, 1, 2])
    np.testing.assert_array_equal(pl.position, [1, 2, 3])
    np.testing.assert_array_equal(pl.intensity, [10, 20, 30])
    np.testing.assert_array_equal(pl.snr, [1, 2, 3])
    assert np.isnan(pl.width).all()


def test_fid_rejects_nonpositive_frequency():
    with pytest.raises(SpectrumError, match="obs_mhz"):
        Fid(np.ones(4, complex), sw_hz=1000, obs_mhz=0, carrier_ppm=4.7, nucleus="1H")


def test_run_tic_and_scan_views():
    run = Run(retention_time_s=[1.0, 2.0, 3.0], offsets=[0, 2, 2, 5],
              mz=[50, 60, 50, 51, 52], intensity=[1, 2, 3, 4, 5])
    np.testing.assert_array_equal(run.tic(), [3, 0, 12])
    mz, _inten = run.scan(2)
    np.testing.assert_array_equal(mz, [50, 51, 52])


def test_hash_source_of_folder_changes_with_content(tmp_path):
    (tmp_path / "a").write_bytes(b"one")
    first = hash_source(tmp_path)
    (tmp_path / "a").write_bytes(b"two")
    assert hash_source(tmp_path) != first
