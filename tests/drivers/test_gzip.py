"""Transparent gzip for every single-file format (registry): gzip copies made in tmp_path.

A ``.gz`` copy must be claimed by the same driver as the plain file, read into the same
arrays, name the ``.gz`` file in its paths, warnings and errors, and carry the digest of the
``.gz`` file; a truncated or corrupt ``.gz`` is one CorruptDataError naming it.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings

import numpy as np
import pytest

from fentid.drivers import claimants, find_driver, read
from fentid.errors import CorruptDataError, NoSpectraError, UnknownFormatError
from fentid.spectra.model import Fid, Run, Spectrum
from tests.conftest import DATA, FORMATS, load_index, run_cli

WILD = DATA / "wild"

#: One sample per text/XML format (and two binary ones), the shared files themselves.
SAMPLES = [
    ("mzml", FORMATS / "mzml/pyteomics/test.mzML"),
    ("mzml", WILD / "psi_1min.mzML"),
    ("mzxml", FORMATS / "mzxml/pyteomics/test.mzXML"),
    ("mzdata", WILD / "openms_FileInfo_6_input.mzData"),
    ("mgf", FORMATS / "mgf/matchms/pesticides.mgf"),
    ("msp", FORMATS / "msp/matchms/massbank_five_spectra.msp"),
    ("msp", WILD / "matchms_riken_style_five_spectra.msp"),
    ("jcampdx", FORMATS / "jcamp_dx_ms/jcampconverter/gcms.jdx"),
    ("jcampdx", FORMATS / "jcamp_dx_nmr/cheminfo/aspirin/1h.dx"),
    ("nmrml", FORMATS / "nmrml/VZBBI_13R03_GABA_1H.nmrML"),
    ("andi", FORMATS / "netcdf_andi/P071.CDF"),
    ("agilent", WILD / "chemstation_MSD.MS"),
]


def _gzip(src, tmp_path, name=None):
    dst = tmp_path / (name or src.name + ".gz")
    with open(src, "rb") as fin, gzip.open(dst, "wb", compresslevel=1) as fout:
        fout.write(fin.read())
    return dst


def _quiet_read(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read(path)
    return ds, [str(w.message) for w in caught]


def _arrays(item):
    if isinstance(item, Run):
        return item.retention_time_s, item.offsets, item.mz, item.intensity
    if isinstance(item, Spectrum):
        return item.axis, item.intensities
    if isinstance(item, Fid):
        return (item.data,)
    raise AssertionError(type(item))


@pytest.mark.parametrize("driver,src", SAMPLES, ids=[s.name for _, s in SAMPLES])
def test_gzip_copy_reads_like_the_plain_file(driver, src, tmp_path):
    gz = _gzip(src, tmp_path)
    assert find_driver(gz).name == find_driver(src).name == driver
    plain, plain_notes = _quiet_read(src)
    packed, packed_notes = _quiet_read(gz)
    assert len(packed.items) == len(plain.items) > 0
    for a, b in zip(packed.items, plain.items, strict=True):
        assert type(a) is type(b)
        for x, y in zip(_arrays(a), _arrays(b), strict=True):
            assert np.array_equal(x, y)
        assert a.provenance.source == str(gz)
        assert a.provenance.sha256 in ("", hashlib.sha256(gz.read_bytes()).hexdigest())
    assert packed.path == str(gz) and packed.metadata["compression"] == "gzip"
    assert packed.sha256 == hashlib.sha256(gz.read_bytes()).hexdigest()
    # same warnings, naming the .gz file instead of the plain one (or a temporary copy)
    assert packed_notes == [n.replace(str(src), str(gz)) for n in plain_notes]


def test_every_single_file_sample_is_claimed_alike_when_gzipped(tmp_path):
    """Sniffing looks at the decompressed head: the first 64 kB of each sample suffice."""
    wrong = {}
    for row in load_index("formats/index.csv"):
        path = FORMATS / row["path"]
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for k, f in enumerate(files):
            if "/expected" in str(f) or f.suffix == ".ibd":
                continue  # answers of other tools; .ibd is claimed through its .imzML sibling
            plain = sorted(d.name for d in claimants(f))
            if not plain or any(d in plain for d in ("bruker", "varian", "spinsolve")):
                continue  # files that only mean something inside their folder
            if plain == ["shimadzu"]:
                continue  # its sniffer walks the OLE directory of the file itself (not the head)
            gz = tmp_path / f"{k}_{f.name}.gz"
            gz.write_bytes(gzip.compress(f.read_bytes()[:65536], compresslevel=1))
            got = sorted(d.name for d in claimants(gz))
            if got != plain:
                wrong[str(f.relative_to(FORMATS))] = (plain, got)
    assert not wrong


@pytest.mark.parametrize("src", [FORMATS / "mzml/pyteomics/test.mzML",
                                 FORMATS / "mzxml/pyteomics/test.mzXML",
                                 FORMATS / "msp/matchms/massbank_five_spectra.msp",
                                 FORMATS / "jcamp_dx_nmr/cheminfo/aspirin/1h.dx"],
                         ids=["mzml-streamed", "mzxml-streamed", "msp-copied", "jcamp-copied"])
def test_truncated_gzip_is_one_line_corrupt_data_error(src, tmp_path):
    gz = _gzip(src, tmp_path)
    cut = tmp_path / ("cut_" + gz.name)
    cut.write_bytes(gz.read_bytes()[:int(gz.stat().st_size * 0.6)])
    with pytest.raises(CorruptDataError, match="truncated") as info:
        read(cut)
    assert info.value.path == str(cut)
    proc = run_cli("info", cut)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"fentid: error: {cut}:") and "Traceback" not in proc.stderr


def test_corrupt_gzip_is_corrupt_data_error(tmp_path):
    gz = _gzip(FORMATS / "mgf/matchms/pesticides.mgf", tmp_path)
    raw = bytearray(gz.read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 64] = bytes(64)
    bad = tmp_path / "bad.mgf.gz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError) as info:
        read(bad)
    assert info.value.path == str(bad) and "gzip" in info.value.message


def test_errors_of_a_copied_gzip_name_the_gz_file(tmp_path):
    broken = tmp_path / "broken.msp"
    broken.write_text("Name: x\nNum Peaks: 2\n40 1\n41\n")
    gz = _gzip(broken, tmp_path)
    with pytest.raises(NoSpectraError) as info:
        read(gz)
    assert info.value.path == str(gz) and "fentid_gunzip" not in info.value.message
    assert info.value.dataset.path == str(gz)


def test_gzip_of_unknown_content_and_empty_gzip(tmp_path):
    junk = tmp_path / "junk.gz"
    junk.write_bytes(gzip.compress(b"nothing any driver knows\n" * 10))
    with pytest.raises(UnknownFormatError, match="content of this gzip file"):
        find_driver(junk)
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(UnknownFormatError, match="empty"):
        find_driver(empty)


def test_profile_of_a_gzipped_mzml_scan_is_re_read_from_the_gz(tmp_path):
    from fentid.drivers.mzml import read_scan_profile

    gz = _gzip(FORMATS / "mzml/pyteomics/test.mzML", tmp_path)
    run = next(i for i in read(gz).items if isinstance(i, Run))
    spectrum = read_scan_profile(run, 0)
    mz, inten = run.scan(0)
    assert np.array_equal(spectrum.axis, mz) and np.array_equal(spectrum.intensities, inten)
