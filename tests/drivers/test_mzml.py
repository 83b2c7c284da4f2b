"""mzML driver: real files against pyteomics and the facts in formats/index.csv."""

from __future__ import annotations

import base64
import json
import warnings
import zlib

import numpy as np
import pytest

from fentid.drivers import claimants, find_driver, read
from fentid.drivers._mzml_fast import iter_records
from fentid.drivers.mzml import iter_spectra
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra.model import Run, Spectrum
from tests.conftest import FORMATS, run_cli

MZML = sorted(p for p in (FORMATS / "mzml").rglob("*") if p.suffix.lower() == ".mzml")
TEST_MZML = FORMATS / "mzml/pyteomics/test.mzML"
SMALL = FORMATS / "mzml/mzdata/small.mzML"
MATCHMS = FORMATS / "mzml/matchms/testdata.mzml"
EXAMPLE = FORMATS / "mzml/pymzml/example.mzML"
THREE = FORMATS / "mzml/mzdata/three_test_scans.mzML"


def _pyteomics_spectra(path):
    """Every spectrum as pyteomics reads it, offline (vendored psims ontology only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # psims: "hdf5plugin is missing"
        from psims.controlled_vocabulary.controlled_vocabulary import obo_cache

        obo_cache.use_remote = False
        from pyteomics import mzml

    with mzml.MzML(str(path)) as reader:
        return list(reader)


def _read_quiet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path)


def test_all_samples_found():
    assert len(MZML) == 5


@pytest.mark.parametrize("path", MZML, ids=lambda p: p.parent.name + "/" + p.name)
def test_arrays_and_precursors_identical_to_pyteomics(path):
    ours = list(iter_records(path))
    ref = _pyteomics_spectra(path)
    assert len(ours) == len(ref)
    for rec, spec in zip(ours, ref):
        assert rec.id == spec["id"]
        assert rec.mz.dtype == spec["m/z array"].dtype
        assert np.array_equal(rec.mz, spec["m/z array"])
        assert rec.intensity.dtype == spec["intensity array"].dtype
        assert np.array_equal(rec.intensity, spec["intensity array"])
        assert rec.ms_level == spec["ms level"]
        if "precursorList" in spec:
            ion = spec["precursorList"]["precursor"][0]["selectedIonList"]["selectedIon"][0]
            assert rec.precursor_mz == pytest.approx(float(ion["selected ion m/z"]), abs=0)


@pytest.mark.parametrize("path", MZML, ids=lambda p: p.name)
def test_sniffed_as_mzml(path):
    assert find_driver(path).name == "mzml"


def test_pyteomics_expected_arrays_reproduced_exactly():
    expected_mz = np.load(FORMATS / "mzml/pyteomics/expected/test_mzml_mz.npy")
    expected_int = np.load(FORMATS / "mzml/pyteomics/expected/test_mzml_intensity.npy")
    first, second = iter_records(TEST_MZML)
    # spectrum 1: m/z 64-bit uncompressed, intensity 32-bit uncompressed (index facts)
    assert first.mz.dtype == np.float64 and np.array_equal(first.mz, expected_mz)
    assert first.intensity.dtype == np.float32 and np.array_equal(first.intensity, expected_int)
    # spectrum 2 stores m/z as 32-bit: identical to the expected array at that precision
    assert np.array_equal(second.mz, expected_mz.astype(second.mz.dtype))
    assert np.array_equal(second.intensity, expected_int)


def test_test_mzml_header_facts():
    first, second = iter_records(TEST_MZML)
    assert first.id.endswith("scan=1") and second.id.endswith("scan=2")
    assert first.ms_level == 1 and first.centroided is False
    assert first.mz.size == 19914
    assert first.mz.min() == 200.00018816645022 and first.mz.max() == 2000.0099466203771
    assert first.retention_time_s == pytest.approx(0.004935 * 60)
    assert second.retention_time_s == pytest.approx(0.005935 * 60)
    assert first.params["filter string"] == "FTMS + p ESI Full ms [200.00-2000.00]"


def test_small_mzml_counts_through_cli():
    proc = run_cli("info", "--json", SMALL)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["driver"] == "mzml"
    assert report["n_spectra"] == 48
    assert report["ms_levels"] == {"1": 14, "2": 34}
    assert report["instrument"] == "LTQ FT"
    lo, _hi = report["retention_time_range_s"]
    assert lo == pytest.approx(0.004935 * 60)


def test_small_mzml_items_run_plus_msn_spectra():
    ds = read(SMALL)
    runs, spectra = ds.of_type(Run), ds.of_type(Spectrum)
    assert len(runs) == 1 and runs[0].n_scans == 14
    assert len(spectra) == 34
    assert all(s.metadata["ms_level"] == 2 and s.centroided for s in spectra)
    first = spectra[0]
    # filter string of scan 3: "ITMS + c ESI d Full ms2 810.79@cid35.00"
    assert first.metadata["precursor_mz"] == pytest.approx(810.79, abs=0.005)
    assert first.metadata["collision_energy_ev"] == 35.0
    assert first.metadata["activation"] == "collision-induced dissociation"
    assert first.provenance.sha256 == ds.sha256 and first.provenance.record == 3


def test_three_test_scans_facts():
    ds = read(THREE)
    assert ds.metadata["ms_levels"] == {1: 1, 2: 2}
    run = ds.of_type(Run)[0]
    assert run.centroided is False and run.metadata["polarity"] == "positive"
    assert np.isnan(run.precursor_mz[0])
    assert all(not s.centroided for s in ds.of_type(Spectrum))


def test_matchms_excerpt_facts_and_count_warning():
    with pytest.warns(DataQualityWarning, match="8761"):
        ds = read(MATCHMS)
    assert ds.metadata["n_spectra"] == 12 and ds.metadata["ms_levels"] == {1: 2, 2: 10}
    ms2 = [s for s in ds.of_type(Spectrum) if s.metadata["ms_level"] == 2]
    assert [len(s) for s in ms2] == [30, 28, 21, 70, 28, 20, 22, 27, 11, 25]
    assert int(ms2[5].metadata["precursor_mz"]) == 177
    assert ms2[0].metadata["retention_time_s"] == pytest.approx(0.616304)


def test_pymzml_excerpt_count_warning():
    with pytest.warns(DataQualityWarning, match="2918"):
        ds = read(EXAMPLE)
    assert ds.metadata["n_spectra"] == 11


def test_iter_spectra_streams_before_a_truncation(tmp_path):
    data = SMALL.read_bytes()
    cut = data.index(b'<spectrum index="5"') + 500
    broken = tmp_path / "cut.mzML"
    broken.write_bytes(data[:cut])
    stream = iter_spectra(broken)
    got = [next(stream) for _ in range(5)]
    assert [s.provenance.record for s in got] == [1, 2, 3, 4, 5]
    with pytest.raises(CorruptDataError, match="truncated"):
        next(stream)


def _broken_base64(data: bytes) -> bytes:
    start = data.index(b"<binary>") + len(b"<binary>") + 40
    return data[:start] + b"!*%" + data[start + 3:]


def _broken_zlib(data: bytes) -> bytes:
    start = data.index(b"<binary>") + len(b"<binary>")
    end = data.index(b"</binary>", start)
    good = base64.b64decode(data[start:end])
    bad = base64.b64encode(good[:2] + bytes(b ^ 0x5A for b in good[2:40]) + good[40:])
    return data[:start] + bad + data[end:]


@pytest.mark.parametrize("mangle, reason", [
    (lambda d: d[: len(d) // 2], "truncated"),
    (lambda d: d[: d.index(b"</spectrumList>")], "truncated"),
    (_broken_base64, "base64"),
    (_broken_zlib, "zlib"),
    (lambda d: d.replace(b'defaultArrayLength="19913"', b'defaultArrayLength="19000"', 1),
     "declares 19000"),
])
def test_bad_input_through_cli_is_one_line_exit_2(tmp_path, mangle, reason):
    broken = tmp_path / "broken.mzML"
    broken.write_bytes(mangle(SMALL.read_bytes()))
    proc = run_cli("info", broken)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fentid: error:")
    assert reason in lines[0] and "Traceback" not in proc.stderr


def test_imzml_not_claimed():
    names = [d.name for d in claimants(FORMATS / "imzml/Example_Continuous.imzML")]
    assert "mzml" not in names


# --- synthetic round trips: every encoding, blocks straddling read chunks -------------------

_DT = {"f4": ("MS:1000521", "32-bit float"), "f8": ("MS:1000523", "64-bit float")}


def _array_xml(arr, dt, compress, wrap, kind):
    raw = arr.astype("<" + dt).tobytes()
    if compress:
        raw = zlib.compress(raw)
    text = base64.b64encode(raw)
    if wrap:
        text = b"\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    acc, name = _DT[dt]
    comp = ("MS:1000574", "zlib compression") if compress else ("MS:1000576", "no compression")
    return (f'<binaryDataArray encodedLength="{len(text)}">'
            f'<cvParam cvRef="MS" accession="{acc}" name="{name}" value=""/>'
            f'<cvParam cvRef="MS" accession="{comp[0]}" name="{comp[1]}" value=""/>'
            f'<cvParam cvRef="MS" accession="{kind[0]}" name="{kind[1]}" value=""/>'
            f"<binary>{text.decode()}</binary></binaryDataArray>")


def _write_mzml(path, spectra, rng):
    parts = ['<?xml version="1.0"?><mzML xmlns="http://psi.hupo.org/ms/mzml"><run id="r">',
             f'<spectrumList count="{len(spectra)}">']
    for i, (mz, inten) in enumerate(spectra):
        dt_mz, dt_int = rng.choice(["f4", "f8"], 2)
        comp, wrap = bool(rng.integers(2)), bool(rng.integers(2))
        parts.append(
            f'<spectrum index="{i}" id="scan={i + 1}" defaultArrayLength="{mz.size}">'
            '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
            '<scanList count="1"><scan><cvParam cvRef="MS" accession="MS:1000016" '
            f'name="scan start time" value="{i * 0.5}" unitCvRef="UO" '
            'unitAccession="UO:0000010" unitName="second"/></scan></scanList>'
            '<binaryDataArrayList count="2">'
            + _array_xml(mz, dt_mz, comp, wrap, ("MS:1000514", "m/z array"))
            + _array_xml(inten, dt_int, comp, wrap, ("MS:1000515", "intensity array"))
            + "</binaryDataArrayList></spectrum>")
    parts.append("</spectrumList></run></mzML>")
    path.write_text("\n".join(parts))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("chunk_bytes", [97, 4096, 1 << 20])
def test_synthetic_round_trip_any_chunking(tmp_path, seed, chunk_bytes):
    rng = np.random.default_rng(seed)
    spectra = []
    for _ in range(int(rng.integers(1, 12))):
        n = int(rng.integers(0, 300))
        spectra.append((np.sort(rng.uniform(50, 2000, n)), rng.uniform(0, 1e6, n)))
    path = tmp_path / "synthetic.mzML"
    _write_mzml(path, spectra, rng)
    got = list(iter_records(path, chunk_bytes=chunk_bytes))
    assert len(got) == len(spectra)
    for rec, (mz, inten) in zip(got, spectra):
        assert np.array_equal(rec.mz, mz.astype(rec.mz.dtype))
        assert np.array_equal(rec.intensity, inten.astype(rec.intensity.dtype))
        assert rec.retention_time_s == pytest.approx(0.5 * rec.index)


def test_stdlib_base64_fallback_gives_identical_arrays(monkeypatch):
    """pybase64 is only an accelerator: the stdlib decoder must give the same arrays."""
    from fentid.drivers import _mzml_fast

    fast = [(r.mz, r.intensity) for r in iter_records(SMALL)]
    monkeypatch.setattr(_mzml_fast, "b64decode_strict", _mzml_fast._b64decode_stdlib)
    slow = [(r.mz, r.intensity) for r in iter_records(SMALL)]
    assert len(fast) == len(slow) == 48
    for (a, b), (c, d) in zip(fast, slow):
        assert np.array_equal(a, c) and np.array_equal(b, d)


@pytest.mark.parametrize("bad", [b"QUJD!", b"QU JD", b"QUJ"])
def test_both_base64_decoders_reject_invalid_text(bad):
    import binascii

    from fentid.drivers import _mzml_fast

    for decode in (_mzml_fast.b64decode_strict, _mzml_fast._b64decode_stdlib):
        with pytest.raises(binascii.Error):
            decode(bad)
