"""NIST MSP driver: every real MSP file, the facts in the index files, and broken variants."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from fentid.drivers import claimants, find_driver, read
from fentid.drivers._libtext import normalise_cas, parse_unsigned_many
from fentid.drivers.msp import parse_peaks
from fentid.errors import CorruptDataError, DataQualityWarning, UnknownFormatError
from fentid.spectra.model import Spectrum
from tests.conftest import DATA, FORMATS, MS, load_index, run_cli

SWGDRUG39 = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"
SINGLE_MOD = MS / "NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"
EXAMPLES = FORMATS / "msp/nist_fentanyl_classifier/ExampleQuerySpectra"
MATCHMS = FORMATS / "msp/matchms"
ALL_MSP = sorted(p for root in (MS, FORMATS) for p in root.rglob("*")
                 if p.is_file() and p.suffix.lower() == ".msp")
MS_ROWS = load_index("ms/index.csv")
FORMATS_ROWS = {row["path"]: row for row in load_index("formats/index.csv")}


def _quiet(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path, **kwargs)


@pytest.fixture(scope="module")
def swgdrug39():
    return _quiet(SWGDRUG39)


def test_every_msp_sample_found():
    assert len(ALL_MSP) > 300
    assert SWGDRUG39 in ALL_MSP


@pytest.mark.parametrize("path", ALL_MSP, ids=lambda p: str(p.relative_to(DATA)))
def test_every_real_msp_file_reads_cleanly(path):
    assert [d.name for d in claimants(path)] == ["msp"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # their Num Peaks are all right
        ds = read(path)
    assert ds.driver == "msp" and ds.technique == "ms"
    assert ds.problems == ()
    assert len(ds.items) >= 1
    for k, spec in enumerate(ds.items, start=1):
        assert isinstance(spec, Spectrum) and spec.centroided and spec.unit == "m/z"
        assert np.all(np.diff(spec.axis) > 0)
        assert spec.metadata["num_peaks_declared"] == len(spec)
        assert spec.provenance.record == k and spec.provenance.driver == "msp"
        assert spec.metadata["name"]


def test_swgdrug39_has_3430_spectra(swgdrug39):
    assert len(swgdrug39.items) == 3430
    assert swgdrug39.problems == ()
    assert [s.provenance.record for s in swgdrug39.items] == list(range(1, 3431))


SWGDRUG39_ROWS = [r for r in MS_ROWS if r["file"].endswith("SWGDRUG39.RDS")]


def test_swgdrug39_matches_every_indexed_row(swgdrug39):
    """ms/index.csv rows of the same library (the R export) by accession SWGDRUG:<ID>."""
    by_id = {s.metadata["db_id"]: s for s in swgdrug39.items}
    assert len(SWGDRUG39_ROWS) == 81
    for row in SWGDRUG39_ROWS:
        spec = by_id[row["accession"].removeprefix("SWGDRUG:")]
        assert spec.metadata["name"] == row["compound_name"]
        assert spec.metadata["inchikey"] == row["inchikey"]
        assert spec.metadata["formula"] == row["formula"]
        assert len(spec) == int(row["n_peaks"])
        assert spec.metadata["ionization"] is None  # SWGDRUG does not say EI in the file
        assert spec.metadata["ms_level"] == 1


def test_single_mod_library_matches_index():
    ds = _quiet(SINGLE_MOD)
    assert len(ds.items) == 44  # ms/README.md: 44 Type-I fentanyl EI spectra
    by_id = {s.metadata["db_id"]: s for s in ds.items}
    rows = [r for r in MS_ROWS if r["accession"].startswith("FC-SingleModLib:")]
    assert len(rows) == 10
    for row in rows:
        spec = by_id[row["accession"].split(":")[1]]
        assert (spec.metadata["name"], spec.metadata["inchikey"]) == (
            row["compound_name"], row["inchikey"])
        assert len(spec) == int(row["n_peaks"])


MSP_ROWS = [r for r in MS_ROWS if r["file"].upper().endswith(".MSP")]


@pytest.mark.parametrize("row", MSP_ROWS, ids=lambda r: r["file"])
def test_single_spectrum_files_match_index(row):
    (spec,) = _quiet(MS / row["file"]).items
    meta = spec.metadata
    assert meta["name"] == row["compound_name"]
    assert len(spec) == int(row["n_peaks"])
    if meta["inchikey"] is not None:  # the NIST replicate files carry no InChIKey line
        assert meta["inchikey"] == row["inchikey"]
    if row["formula"]:
        assert meta["formula"] == row["formula"]


def test_fentanyl_classifier_folder_reads_as_one_sample():
    """formats/index.csv names the folder; SHA1SUMS lists the files shipped."""
    shipped = [ln for ln in (FORMATS / "SHA1SUMS").read_text().splitlines()
               if "msp/nist_fentanyl_classifier/" in ln]
    assert "msp/nist_fentanyl_classifier/ExampleQuerySpectra" in FORMATS_ROWS
    assert [d.name for d in claimants(EXAMPLES)] == ["msp"]
    ds = _quiet(EXAMPLES)
    assert len(ds.items) == len(shipped) and ds.problems == ()
    assert all(s.provenance.source.endswith((".MSP", ".msp")) for s in ds.items)


def _one(path):
    (spec,) = _quiet(path).items
    return spec


def test_fentanyl_replicates_facts():
    """formats/index.csv: Name=Fentanyl; base peak (999) m/z 245 in 250541/379198/457504."""
    for name in ("250541", "379198", "457504"):
        spec = _one(EXAMPLES / "FentanylReplicates" / f"{name}.MSP")
        assert spec.metadata["name"] == "Fentanyl"
        assert spec.axis[np.argmax(spec.intensities)] == 245
        assert spec.intensities.max() == 999
    counts = {len(_one(EXAMPLES / "FentanylReplicates" / f"{n}.MSP"))
              for n in ("250541", "379198", "457504")}
    assert counts <= {95, 97, 115, 148, 153}


def test_sufentanil_facts():
    """formats/index.csv: C22H30N2O2S; MW 386; CAS 56030-54-7; DEA SWL; 128 peaks; base 289."""
    spec = _one(EXAMPLES / "Type2Fentanyl/AC/Sufentanil.MSP")
    meta = spec.metadata
    assert (meta["formula"], meta["mw"], meta["cas"]) == ("C22H30N2O2S", 386.0, "56030-54-7")
    assert meta["comments"] == "DEA SWL"
    assert len(spec) == 128
    assert spec.axis[np.argmax(spec.intensities)] == 289


def test_cas_and_nist_number_on_one_line():
    path = next(p for p in sorted(EXAMPLES.rglob("*.MSP")) if "NIST#" in p.read_text())
    line = next(ln for ln in path.read_text().splitlines() if "NIST#" in ln)
    cas, nist = re.match(r"CAS#:\s*([\d-]+);\s*NIST#:\s*(\d+)", line).groups()
    meta = _one(path).metadata
    assert meta["cas"] == cas and meta["nist_id"] == nist


def test_mona_export():
    """matchms test: 10 InChIKeys, first ALRLPDGCPYIVHP; 75 peaks m/z 51..248, 2.66..99.99."""
    ds = _quiet(MATCHMS / "MoNA-export-GC-MS-first10.msp")
    assert len(ds.items) == 10
    first = ds.items[0]
    assert first.metadata["inchikey"] == "ALRLPDGCPYIVHP-UHFFFAOYSA-N"
    assert len(first) == 75
    assert (first.axis[0], first.axis[-1]) == (51, 248)
    assert (first.intensities[0], first.intensities.max()) == (2.66, 99.99)
    # licence and accession come from the quoted key=value comment
    assert first.metadata["licence"] == "CC BY-NC-SA"
    assert first.metadata["accession"] == "JP000001"
    assert first.metadata["ionization"] == "EI"  # "instrument type=EI-B" says so
    assert first.metadata["precursor_mz"] is None  # PrecursorMZ: 0


def test_massbank_msp_export():
    """matchms test: InChIKeys and PrecursorMZ of the five records."""
    ds = _quiet(MATCHMS / "massbank_five_spectra.msp")
    keys = [s.metadata["inchikey"].split("-")[0] for s in ds.items]
    assert keys == ["XTWYTFMLZFPYCI", "BEJNERDRQOWKJM", "UVKZSORBKUEBAZ", "TTWJBBZEZQICBI",
                    "SIIRBDOFKDACOK"]
    assert [s.metadata["precursor_mz"] for s in ds.items] == [
        428.31, 141.0193, 267.1856, 300.1473, 415.234]
    assert all(s.metadata["ms_level"] == 2 for s in ds.items)
    kojic = ds.items[1].metadata
    assert (kojic["polarity"], kojic["precursor_type"]) == ("negative", "[M-H]-")
    assert kojic["collision_energy_ev"] is None  # "60 % (nominal)" is not in eV
    assert ds.items[0].metadata["collision_energy_ev"] == 40.0


def test_tab_separated_peaks_with_quoted_comments():
    """matchms test_load_from_msp_tabs: perylene, 19 peaks 112.03071..254.09985, base 252.09323."""
    spec = _one(MATCHMS / "rcx_gc-ei_ms_20201028_perylene.msp")
    assert spec.metadata["inchikey"] == "CSHWQDPOILHKBI-UHFFFAOYSA-N"
    assert len(spec) == 19
    assert (spec.axis[0], spec.axis[-1]) == (112.03071, 254.09985)
    assert spec.axis[np.argmax(spec.intensities)] == 252.09323
    assert spec.intensities.max() == 1955166
    for mz in (113.03854, 125.03855, 249.07072, 252.09323):  # the annotated peaks
        assert mz in spec.axis
    assert spec.metadata["ionization"] == "EI" and spec.metadata["ms_level"] == 1
    # GC-EI: the file's PRECURSORMZ is the molecular ion, not an MS/MS precursor
    assert spec.metadata["precursor_mz"] is None
    assert spec.metadata["stated_precursor_mz"] == 252.09323
    assert spec.metadata["electron_energy_ev"] == 70.0
    assert spec.metadata["licence"] == "CC BY-NC"
    assert spec.metadata["retention_index"] == 2886.9


# --- variants and broken files (synthetic) -----------------------------------------------------

def _write(tmp_path, text, name="lib.msp", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("peaks", [
    "40 10; 41 20; 43 5;",
    "40\t10\n41\t20\n43\t5",
    "40,10 41,20 43,5",
    "(40 10) (41 20) (43 5)",
    "[40 10] [41 20]\n[43 5]",
    '40 10 "C3H4+"\n41 20 "a; b, (c)"\n43 5',
    "40:10 41:20 43:5",
    "43 5\n40 10\n41 20",
])
def test_peak_separators(tmp_path, peaks):
    path = _write(tmp_path, f"Name: X\nNum Peaks: 3\n{peaks}\n")
    spec = _one(path)
    assert spec.axis.tolist() == [40, 41, 43]
    assert spec.intensities.tolist() == [10, 20, 5]


def test_round_trip_of_random_libraries(tmp_path):
    """Random spectra written in the separator styles real writers use read back exactly."""
    rng = np.random.default_rng(3)
    styles = [lambda m, i: f"{m} {i};", lambda m, i: f"{m}\t{i}\n", lambda m, i: f"({m},{i}) ",
              lambda m, i: f'{m} {i} "ann; (x)"\n', lambda m, i: f"[{m}:{i}]\n"]
    written, chunks = [], []
    for k in range(60):
        mz = np.unique(np.round(rng.uniform(10, 900, rng.integers(1, 40)), rng.integers(0, 5)))
        inten = np.round(rng.uniform(0, 1000, mz.size), rng.integers(0, 3))
        style = styles[k % len(styles)]
        peaks = "".join(style(repr(float(m)), repr(float(i))) for m, i in zip(mz, inten))
        chunks.append(f"Name: S{k}\nNum Peaks: {mz.size}\n{peaks}\n")
        written.append((mz, inten))
    ds = _quiet(_write(tmp_path, "\n".join(chunks)))
    assert ds.problems == () and len(ds.items) == len(written)
    for spec, (mz, inten) in zip(ds.items, written):
        assert np.array_equal(spec.axis, mz) and np.array_equal(spec.intensities, inten)
        assert "notes" not in spec.metadata


def test_header_variants(tmp_path):
    text = ("# exported by hand\nNAME: Acetylfentanyl\nSynon: $:00MS2\nSynon: $:10ESI\n"
            "Synon: $:11P\nSynonym: N-phenyl-N-[1-(2-phenylethyl)piperidin-4-yl]acetamide\n"
            "CAS#: 3258842;  NIST#: 1234\nDB#: X-1\nFormula: C21H26N2O\nMW: 322\n"
            "ExactMass: 322.2045\nInChIKey: FYIUUQUPOKIKNI-UHFFFAOYSA-N\nSMILES: CC(=O)N\n"
            "Precursor_type: [M+H]+\nPrecursorMZ: 323.2118\nCollision_energy: 20 eV\n"
            "Comments: \"license=CC0\" \"retention time=4.2\"\nRetention_index: SemiStdNP=2528/2/2\n"
            "num peaks: 2\n188.1 999\n105.1 300\n")
    meta = _one(_write(tmp_path, text)).metadata
    assert meta["name"] == "Acetylfentanyl"
    assert meta["synonyms"] == ("N-phenyl-N-[1-(2-phenylethyl)piperidin-4-yl]acetamide",)
    assert meta["nist_tags"] == {"00": "MS2", "10": "ESI", "11": "P"}
    assert (meta["cas"], meta["nist_id"], meta["db_id"]) == ("3258-84-2", "1234", "X-1")
    assert (meta["mw"], meta["exact_mass"], meta["precursor_mz"]) == (322, 322.2045, 323.2118)
    assert (meta["ionization"], meta["polarity"], meta["ms_level"]) == ("ESI", "positive", 2)
    assert meta["collision_energy_ev"] == 20.0 and meta["licence"] == "CC0"
    assert meta["retention_index"] == 2528.0


def test_in_source_spectra_are_ms1(tmp_path):
    text = "Name: X\nSynon: $:00in-source\nSynon: $:10DART\nPrecursorMZ: 337.2\nNum Peaks: 1\n40 1\n"
    meta = _one(_write(tmp_path, text)).metadata
    assert (meta["ms_level"], meta["ionization"], meta["precursor_mz"]) == (1, "DART", None)
    assert meta["stated_precursor_mz"] == 337.2


def test_wrong_and_missing_num_peaks_are_noted_and_warned(tmp_path):
    path = _write(tmp_path, "Name: A\nNum Peaks: 5\n40 1\n41 2\n\nName: B\n50 1\n\n"
                            "Name: C\nNum Peaks: 1\n60 1\n60 2\n")
    with pytest.warns(DataQualityWarning, match="3 record"):
        ds = read(path)
    a, b, c = ds.items
    assert len(a) == 2 and "'Num Peaks: 5' but 2 peaks read" in a.metadata["notes"]
    assert len(b) == 1 and "no usable 'Num Peaks' line" in b.metadata["notes"][0]
    assert c.axis.tolist() == [60] and c.intensities.tolist() == [3]  # duplicates summed
    assert ds.problems == ()


def test_latin1_crlf_and_bom(tmp_path):
    latin = _write(tmp_path, "Name: Hydroxy\xe9thyl\r\nNum Peaks: 1\r\n40 1\r\n", "l.msp",
                   "latin-1")
    ds = _quiet(latin)
    assert ds.items[0].metadata["name"] == "Hydroxy\xe9thyl"
    assert ds.metadata["encoding"] == "latin-1"
    bom = _write(tmp_path, "\ufeffName: \u03b2-Alanine\nNum Peaks: 1\n40 1\n", "b.msp")
    assert [d.name for d in claimants(bom)] == ["msp"]
    assert _one(bom).metadata["name"] == "\u03b2-Alanine"


BROKEN = """Name: Good one
Num Peaks: 2
40 10; 41 20;

Name: Bad peak line
Num Peaks: 2
40 10
4l 2O

Name: No peaks at all
Num Peaks: 0

This is garbage text somebody pasted
between two records

Name: Good two
Num Peaks: 2
50 1
51 2

Name: Negative
Num Peaks: 1
50 -1

Name: Truncated
Num Peaks: 3
40 1
41
"""


@pytest.mark.parametrize("name", ["Isopropyl", "\u0130sopropyl"])  # U+0130 lower-cases to 2 chars
def test_indented_and_upper_case_name_lines(tmp_path, name):
    text = f"Name: A\nNum Peaks: 1\n40 1\n  NAME : {name}\nNum Peaks: 1\n41 2\n"
    ds = _quiet(_write(tmp_path, text))
    assert [s.metadata["name"] for s in ds.items] == ["A", name]


def test_broken_records_are_reported_and_the_rest_read(tmp_path):
    ds = _quiet(_write(tmp_path, BROKEN))
    assert [s.metadata["name"] for s in ds.items] == ["Good one", "Good two"]
    assert [s.provenance.record for s in ds.items] == [1, 5]
    problems = {p.record: (p.name, p.reason) for p in ds.problems}
    assert sorted(problems) == [2, 3, 4, 6, 7]
    assert problems[2][0] == "Bad peak line" and "'4l' is not a number" in problems[2][1]
    assert "line 8 '4l 2O'" in problems[2][1] and "record starts at line 5" in problems[2][1]
    assert problems[3] == ("No peaks at all", "no peaks (record starts at line 10)")
    assert problems[4][0] is None and "without a 'Name:' line" in problems[4][1]
    assert "negative" in problems[6][1]
    assert "m/z without intensity" in problems[7][1] and "line 28 '41'" in problems[7][1]


def test_broken_msp_through_cli(tmp_path):
    path = _write(tmp_path, BROKEN, "broken.msp")
    result = run_cli("info", path)
    assert result.returncode == 2
    assert "n_spectra                    2" in result.stdout
    for record in (2, 3, 4, 6, 7):
        assert f"problem: record {record}" in result.stdout
    assert "5 record(s) could not be read" in result.stderr
    good = run_cli("info", "--json", MATCHMS / "massbank_five_spectra.msp")
    assert good.returncode == 0 and '"n_spectra": 5' in good.stdout


def test_truncated_library_keeps_all_but_the_cut_record(tmp_path):
    raw = SWGDRUG39.read_bytes()
    cut = raw.index(b"\t", len(raw) // 2) + 1  # "m/z<TAB>" and then nothing
    ds = _quiet(_write(tmp_path, raw[:cut].decode("utf-8")))
    total = raw[:cut].count(b"\nName: ") + 1
    assert len(ds.items) == total - 1
    (problem,) = ds.problems
    assert problem.record == total and "m/z without intensity" in problem.reason


def test_not_msp_is_not_claimed(tmp_path):
    mgf = _write(tmp_path, "BEGIN IONS\nPEPMASS=100\nNAME=x\n40 1\nEND IONS\n", "a.mgf")
    jdx = _write(tmp_path, "##TITLE=Name: x\n##JCAMP-DX=4.24\nNum Peaks: 1\n", "a.jdx")
    no_count = _write(tmp_path, "Name: x\nFormula: C\n" + "Comment: y\n" * 5, "c.txt")
    for path in (mgf, jdx, no_count):
        assert "msp" not in [d.name for d in claimants(path)]
    massbank = next(MS.glob("MassBank-data/*/MSBNK-*.txt"))
    assert "msp" not in [d.name for d in claimants(massbank)]
    with pytest.raises(UnknownFormatError):
        find_driver(no_count)


def test_file_without_records_raises(tmp_path):
    path = _write(tmp_path, "# only a comment\n\n")
    with pytest.raises(CorruptDataError, match="no MSP record"):
        read(path, format="msp")


# --- the fast number parser ------------------------------------------------------------------

def test_fast_numbers_are_bit_identical_to_float():
    rng = np.random.default_rng(7)
    texts, expected = [], []
    for _ in range(500):
        tokens = []
        for kind in rng.integers(0, 4, size=rng.integers(0, 30)):
            if kind == 0:
                tokens.append(str(rng.integers(0, 10**9)))
            elif kind == 1:
                tokens.append(f"{rng.random() * 2000:.{rng.integers(1, 9)}f}")
            elif kind == 2:
                tokens.append(repr(float(rng.random() * 1e4))[:15])
            else:
                tokens.append("." + str(rng.integers(0, 10**6)))
        texts.append(" \n\t".join(tokens))
        expected.append(np.array([float(t) for t in tokens]))
    for got, want in zip(parse_unsigned_many(texts), expected):
        assert got is not None and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("text", ["1 -2", "1.2.3 4", "abc 1", "1e5 2", "1234567890123456 1",
                                  ".", "1|2", "\u00e9 1"])
def test_fast_numbers_hand_unusual_text_to_the_general_path(text):
    assert parse_unsigned_many(["1 2", text, "3 4"]) == [pytest.approx([1, 2]), None,
                                                          pytest.approx([3, 4])]


def test_general_path_reads_signs_and_exponents():
    mz, inten = parse_peaks("1e2 +5\n101 2.5E1\n")
    assert mz.tolist() == [100, 101] and inten.tolist() == [5, 25]


def test_cas_normalisation():
    assert normalise_cas("481298") == "481-29-8"  # SWGDRUG's epiandrosterone
    assert normalise_cas("0") is None and normalise_cas("") is None
    assert normalise_cas("481299") == "481299"  # check digit wrong: verbatim
    assert normalise_cas("56030-54-7") == "56030-54-7"
