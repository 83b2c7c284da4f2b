"""Profile runs read within a memory budget: centroided (or nominal-binned) while streaming.

The reference for every equality here is what the rest of fentid does with the
run kept as stored (profile): :func:`gcms.extract_components` and its
centroiding :func:`chromatography.centroid_arrays`.
"""

from __future__ import annotations

import base64
import re
import warnings
import zlib

import numpy as np
import pytest

from fentid.drivers import mzml, mzxml, read
from fentid.drivers._mzml_fast import SpectrumScanner, iter_records, read_record_at
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra import chromatography as chrom
from fentid.spectra import gcms
from fentid.spectra.model import Run, Spectrum
from tests.conftest import FORMATS

#: The real profile mzML samples (formats/index.csv: "profile").
PROFILE = [FORMATS / "mzml/pyteomics/test.mzML", FORMATS / "mzml/mzdata/small.mzML",
           FORMATS / "mzml/mzdata/three_test_scans.mzML"]
#: Complete indexed mzML files (not excerpts whose index describes the original run).
INDEXED = [FORMATS / "mzml/mzdata/small.mzML", FORMATS / "mzml/mzdata/three_test_scans.mzML"]
ids = pytest.mark.parametrize("path", PROFILE, ids=lambda p: p.name)


def _run(ds) -> Run:
    (run,) = ds.of_type(Run)
    return run


def _assert_same_components(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.retention_time_s == y.retention_time_s and x.area == y.area
        assert np.array_equal(x.peaks.position, y.peaks.position)
        assert np.array_equal(x.peaks.intensity, y.peaks.intensity)


@ids
def test_real_profile_samples_are_kept_as_stored_within_the_budget(path):
    run = _run(read(path))
    # index facts: these MS1 scans are profile; the files are far below the 64 MB budget
    assert run.centroided is False and "processing_on_read" not in run.metadata


def test_runs_shorter_than_min_scans_are_kept_as_stored():
    # index facts: test.mzML 2 profile MS1 scans, three_test_scans.mzML 1
    for path in (PROFILE[0], PROFILE[2]):
        run = _run(mzml.read(path, profile_budget_mb=0, nominal_boundary=0.649))
        assert run.n_scans < gcms.MIN_SCANS and not run.centroided
        assert not run.provenance.steps


def test_centroided_on_read_equals_centroid_arrays_of_the_profile_run():
    path = PROFILE[1]  # small.mzML: 14 profile MS1 scans (index facts)
    profile = _run(read(path))
    streamed = _run(mzml.read(path, profile_budget_mb=0))
    offsets, mz, inten = chrom.centroid_arrays(profile.offsets, profile.mz, profile.intensity)
    assert np.array_equal(streamed.offsets, offsets)
    assert np.array_equal(streamed.mz, mz) and np.array_equal(streamed.intensity, inten)
    assert streamed.centroided is True
    assert streamed.metadata["processing_on_read"] == "centroided from profile on read"
    (step,) = streamed.provenance.steps
    assert step.name == "centroid_on_read"
    assert step.params["max_gap_da"] == 0.5 and step.params["n_scans"] == profile.n_scans
    assert np.array_equal(streamed.retention_time_s, profile.retention_time_s)
    assert streamed.metadata["scan_ids"] == profile.metadata["scan_ids"]


#: small.mzML is a 14-scan peptide LC-MS excerpt: with the GC-MS defaults nothing in it
#: is a chromatographic component, so lower thresholds make components to compare.
LOW = {"ion_snr": 2.0, "tic_snr": 2.0, "component_snr": 2.0, "min_ions": 1}


@ids
@pytest.mark.parametrize("nominal", [None, chrom.NOMINAL_BOUNDARY])
@pytest.mark.parametrize("params", [{}, LOW], ids=["defaults", "low_thresholds"])
def test_components_identical_to_extract_components_on_the_profile_run(path, nominal, params):
    profile = _run(read(path))
    streamed = _run(mzml.read(path, profile_budget_mb=0, nominal_boundary=nominal))
    expected = gcms.extract_components(profile, **params)
    _assert_same_components(gcms.extract_components(streamed, **params), expected)
    assert expected or not params and profile.n_scans >= gcms.MIN_SCANS
    if profile.n_scans >= gcms.MIN_SCANS:
        a, b = gcms.prepare(profile), gcms.prepare(streamed)
        assert np.array_equal(a.masses, b.masses) and a.masses.size > 1000
        assert np.array_equal(a.corrected, b.corrected) and np.array_equal(a.noise, b.noise)


def test_nominal_run_holds_integer_masses():
    small = _run(mzml.read(PROFILE[1], profile_budget_mb=0, nominal_boundary=0.649))
    assert small.n_scans == 14  # index facts: ms1_count == 14
    assert np.array_equal(small.mz, np.round(small.mz))  # integer masses
    assert "binned to nominal mass" in small.metadata["processing_on_read"]


def test_budget_crossed_mid_run_converts_earlier_scans_too():
    path = PROFILE[1]
    profile = _run(read(path))
    first = profile.offsets[1] * 16  # float64 m/z + intensity of the first scan, bytes
    streamed = _run(mzml.read(path, profile_budget_mb=(first + 1) / 1e6))
    expected = chrom.centroid_arrays(profile.offsets, profile.mz, profile.intensity)
    assert np.array_equal(streamed.offsets, expected[0])
    assert np.array_equal(streamed.mz, expected[1])
    assert streamed.provenance.steps[0].params["n_scans"] == 14


def test_msn_spectra_unchanged_by_the_budget():
    kept = read(FORMATS / "mzml/mzdata/three_test_scans.mzML")
    streamed = mzml.read(FORMATS / "mzml/mzdata/three_test_scans.mzML", profile_budget_mb=0)
    a, b = kept.of_type(Spectrum), streamed.of_type(Spectrum)
    assert len(a) == len(b) == 2 and all(not s.centroided for s in b)  # index: all profile
    for x, y in zip(a, b):
        assert np.array_equal(x.axis, y.axis) and np.array_equal(x.intensities, y.intensities)


@pytest.mark.parametrize("path", INDEXED, ids=lambda p: p.name)
@pytest.mark.parametrize("chunk_bytes", [97, 1 << 20])
def test_recorded_offsets_equal_the_files_own_index(path, chunk_bytes):
    index = {i.decode(): int(o) for i, o in re.findall(
        rb'<offset idRef="([^"]*)"[^>]*>(\d+)</offset>', path.read_bytes())}
    recs = list(SpectrumScanner(path, chunk_bytes))
    assert recs and [r.offset for r in recs] == [index[r.id] for r in recs]


@ids
def test_read_scan_profile_returns_the_stored_profile(path):
    stored = [r for r in iter_records(path) if (r.ms_level or 1) == 1]
    run = _run(mzml.read(path, profile_budget_mb=0))
    for i, rec in enumerate(stored):
        spec = mzml.read_scan_profile(run, i)
        assert spec.centroided is False and spec.metadata["scan_id"] == rec.id
        assert np.array_equal(spec.axis, rec.mz) and np.array_equal(spec.intensities,
                                                                    rec.intensity)


def test_read_scan_profile_detects_a_changed_file(tmp_path):
    path = tmp_path / "copy.mzML"
    path.write_bytes(PROFILE[1].read_bytes())
    run = _run(mzml.read(path, profile_budget_mb=0))
    path.write_bytes(b"<!-- shifted -->" + PROFILE[1].read_bytes())
    with pytest.raises(CorruptDataError, match="changed"):
        mzml.read_scan_profile(run, 1)
    with pytest.raises(CorruptDataError, match="offset"):
        read_record_at(path, 10**9)


# --- mzXML: the real samples are centroided; profile runs are synthetic ----------------------

def _peaks_b64(mz, inten) -> str:
    pairs = np.column_stack([mz, inten]).astype(">f4").tobytes()
    return base64.b64encode(zlib.compress(pairs)).decode()


def _profile_scans(rng, n_scans):
    grid = np.arange(50.0, 300.0, 0.1)
    scans = []
    for k in range(n_scans):
        inten = rng.gamma(2.0, 5.0, grid.size)
        for centre, height in ((91.05, 4e4), (120.1, 2e4), (217.2, 1e4)):
            inten += height * np.exp(-0.5 * ((k - n_scans / 2) / 3) ** 2) * np.exp(
                -0.5 * ((grid - centre) / 0.08) ** 2)
        scans.append((grid.astype(np.float32).astype(float),
                      inten.astype(np.float32).astype(float)))
    return scans


def _write_profile_mzxml(path, scans):
    """mzXML 3.2 style: file-wide profile flag, one MS2 nested inside scan 2."""
    head = ('<?xml version="1.0"?>\n<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision'
            f'/mzXML_3.2"><msRun scanCount="{len(scans) + 1}">'
            '<msInstrument><msModel category="msModel" value="Synthetic Q"/>'
            '<msIonisation category="msIonisation" value="EI"/></msInstrument>'
            '<dataProcessing centroided="0"><software type="conversion" name="t" version="1"/>'
            '</dataProcessing>')
    parts = [head]
    for k, (mz, inten) in enumerate(scans):
        num = k + 1 if k < 2 else k + 2
        parts.append(f'<scan num="{num}" msLevel="1" peaksCount="{mz.size}" polarity="+" '
                     f'retentionTime="PT{60 + k * 0.5:.2f}S">'
                     f'<peaks precision="32" byteOrder="network" pairOrder="m/z-int" '
                     f'compressionType="zlib">{_peaks_b64(mz, inten)}</peaks>')
        if k == 1:
            parts.append('<scan num="3" msLevel="2" peaksCount="2" retentionTime="PT60.7S">'
                         '<precursorMz precursorCharge="1">120.1</precursorMz>'
                         '<peaks precision="32" byteOrder="network" pairOrder="m/z-int">'
                         f'{base64.b64encode(np.array([[65, 5], [91, 9]], ">f4")).decode()}'
                         '</peaks></scan>')
        parts.append("</scan>")
    parts.append("</msRun></mzXML>")
    path.write_text("\n".join(parts))


@pytest.fixture
def profile_mzxml(tmp_path):
    scans = _profile_scans(np.random.default_rng(7), 30)
    path = tmp_path / "profile.mzXML"
    _write_profile_mzxml(path, scans)
    return path, scans


def test_mzxml_profile_run_centroided_on_read(profile_mzxml):
    path, scans = profile_mzxml
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        kept = read(path)
    streamed = mzxml.read(path, profile_budget_mb=0)
    profile, run = _run(kept), _run(streamed)
    assert profile.centroided is False and profile.n_scans == 30
    mz, inten = profile.scan(0)
    assert np.array_equal(mz, scans[0][0]) and np.array_equal(inten, scans[0][1])
    assert run.centroided and run.metadata["processing_on_read"].startswith("centroided")
    expected = chrom.centroid_arrays(profile.offsets, profile.mz, profile.intensity)
    assert np.array_equal(run.offsets, expected[0]) and np.array_equal(run.mz, expected[1])
    # the nested MS2 stays in file order, between survey scans 2 and 4
    (ms2,) = streamed.of_type(Spectrum)
    assert ms2.metadata["precursor_mz"] == pytest.approx(120.1, abs=1e-4)
    assert streamed.items.index(ms2) == 1 and streamed.metadata["ms_levels"] == {1: 30, 2: 1}
    assert gcms.extract_components(profile)  # the synthetic peak at scan 15
    _assert_same_components(gcms.extract_components(run), gcms.extract_components(profile))
    binned = _run(mzxml.read(path, profile_budget_mb=0, nominal_boundary=0.649))
    _assert_same_components(gcms.extract_components(binned), gcms.extract_components(profile))


def test_mzxml_read_scan_profile(profile_mzxml):
    path, scans = profile_mzxml
    run = _run(mzxml.read(path, profile_budget_mb=0))
    for i in (0, 1, 29):
        spec = mzml.read_scan_profile(run, i)
        assert spec.centroided is False
        assert np.array_equal(spec.axis, scans[i][0])
        assert np.array_equal(spec.intensities, scans[i][1])
    with pytest.raises(CorruptDataError, match="num=99"):
        mzxml.read_scan(path, "scan=99")


def test_mzxml_real_sample_read_scan_matches_run():
    path = FORMATS / "mzxml/pyteomics/test.mzXML"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        run = _run(read(path))
    spec = mzml.read_scan_profile(run, 0)
    mz, inten = run.scan(0)
    # index facts: scan 19, peaksCount 1313, centroided
    assert spec.metadata["scan_id"] == "scan=19" and len(spec) == 1313 and spec.centroided
    assert np.array_equal(spec.axis, mz) and np.array_equal(spec.intensities, inten)


# --- past the default budget: the `fentid peaks` route on a > 64 MB profile run --------------

def _write_profile_mzml(path, n_scans=60, n_points=80_000, seed=3):
    """A GC-MS-like profile run whose float64 arrays exceed the 64 MB default budget."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(35.0, 500.0, n_points)
    mz_b64 = base64.b64encode(zlib.compress(grid.astype("<f8").tobytes(), 1)).decode()
    ions = ((58.07, 1.0), (91.05, 0.6), (146.1, 0.4), (245.2, 0.8))

    def array(b64, acc, name, kind, kind_name):
        return (f'<binaryDataArray encodedLength="{len(b64)}">'
                f'<cvParam cvRef="MS" accession="{acc}" name="{name}" value=""/>'
                '<cvParam cvRef="MS" accession="MS:1000574" name="zlib compression" value=""/>'
                f'<cvParam cvRef="MS" accession="{kind}" name="{kind_name}" value=""/>'
                f"<binary>{b64}</binary></binaryDataArray>")

    with open(path, "w") as fh:
        fh.write('<?xml version="1.0"?><mzML xmlns="http://psi.hupo.org/ms/mzml"><run id="r">'
                 f'<spectrumList count="{n_scans}">')
        for k in range(n_scans):
            inten = rng.gamma(1.5, 20.0, n_points)
            elution = np.exp(-0.5 * ((k - 30) / 2.5) ** 2)
            for centre, rel in ions:
                inten += 1e6 * rel * elution * np.exp(-0.5 * ((grid - centre) / 0.05) ** 2)
            int_b64 = base64.b64encode(zlib.compress(inten.astype("<f4").tobytes(), 1)).decode()
            fh.write(
                f'<spectrum index="{k}" id="scan={k + 1}" defaultArrayLength="{n_points}">'
                '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
                '<cvParam cvRef="MS" accession="MS:1000128" name="profile spectrum" value=""/>'
                '<scanList count="1"><scan><cvParam cvRef="MS" accession="MS:1000016" '
                f'name="scan start time" value="{60 + 0.5 * k}" unitCvRef="UO" '
                'unitAccession="UO:0000010" unitName="second"/></scan></scanList>'
                '<binaryDataArrayList count="2">'
                + array(mz_b64, "MS:1000523", "64-bit float", "MS:1000514", "m/z array")
                + array(int_b64, "MS:1000521", "32-bit float", "MS:1000515", "intensity array")
                + "</binaryDataArrayList></spectrum>")
        fh.write("</spectrumList></run></mzML>")


def test_peaks_report_past_the_budget_equals_components_of_the_profile_run(tmp_path):
    from fentid import components

    path = tmp_path / "big_profile.mzML"
    _write_profile_mzml(path)
    assert 60 * 80_000 * 16 > mzml.PROFILE_BUDGET_MB * 1e6
    default = _run(read(path))
    assert default.centroided and default.metadata["processing_on_read"].startswith("centroided")
    # fentid peaks reads mzML with nominal binning past the budget
    assert components.component_read_options(path) == {"nominal_boundary": 0.649}
    binned = _run(mzml.read(path, nominal_boundary=0.649))
    assert np.array_equal(binned.mz, np.round(binned.mz)) and binned.mz.size < 60 * 470
    report = components.peaks_report(path)
    profile = _run(mzml.read(path, profile_budget_mb=float("inf")))
    assert not profile.centroided
    expected = gcms.extract_components(profile)
    assert [round(c.retention_time_s) for c in expected] == [75]  # the synthetic apex, scan 30
    # bit-identical in process (what identify searches) ...
    streamed = components.ms_components(read(path, **components.component_read_options(path)))
    assert [c.retention_time_s for c in streamed] == [c.retention_time_s for c in expected]
    assert [c.area for c in streamed] == [c.area for c in expected]
    for got_c, comp in zip(streamed, expected, strict=True):
        assert got_c.peaks.position.tolist() == comp.peaks.position.tolist()
        assert got_c.peaks.intensity.tolist() == comp.peaks.intensity.tolist()
    # ... and the JSON report shows the same numbers, rounded for reading
    got = report["components"]
    assert [c["retention_time_s"] for c in got] == [round(c.retention_time_s, 3)
                                                    for c in expected]
    for row, comp in zip(got, expected, strict=True):
        assert [p["mz"] for p in row["peaks"]] == [round(m, 5) for m in comp.peaks.position]
        assert [p["intensity"] for p in row["peaks"]] == [round(i, 4)
                                                          for i in comp.peaks.intensity]
    # the synthetic ions, binned to nominal mass
    assert {58.0, 91.0, 146.0, 245.0} <= {p["mz"] for p in got[0]["peaks"]}
