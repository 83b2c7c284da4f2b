"""NMR scores: peak-list assignment (real BMRB / nmrshiftdb2 lists) and spectrum correlation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fentid.errors import SpectrumError
from fentid.spectra.model import PeakList, Spectrum
from fentid.spectra.scores_nmr import (
    merge_lines,
    nmr_peak_match,
    nmr_peak_similarity,
    spectrum_correlation,
)
from tests.conftest import NMR, load_index

INDEX = load_index("nmr/index.csv")


def _bmrb_lists(path, frame):
    """(peak positions, transition positions, transition heights) of one BMRB peak list."""
    doc = json.loads((NMR / path).read_text())
    sf = next(s for s in doc["saveframes"] if s["name"] == frame)
    loops = {lp["category"]: lp for lp in sf["loops"]}

    def column(cat, tag):
        lp = loops.get(cat)
        if lp is None:
            return []
        k = lp["tags"].index(tag)
        return [row[k] for row in lp["data"]]

    peaks = np.array(column("_Peak_char", "Chem_shift_val"), float)
    lines = np.array(column("_Spectral_transition_char", "Chem_shift_val"), float)
    heights = np.array(column("_Spectral_transition_general_char", "Intensity_val"), float)
    return peaks, lines, heights


def _nmrshiftdb(path, record):
    doc = json.loads((NMR / path).read_text())
    text = doc[record.split("#", 1)[1]]
    shifts = [float(item.split(";")[0]) for item in text.split("|") if item.strip()]
    return np.unique(shifts)  # equivalent atoms are listed once per atom


def _peaks(pos, nucleus, inten=None, mhz=None):
    pos = np.asarray(pos, float)
    inten = np.ones(pos.size) if inten is None else inten
    meta = {"spectrometer_frequency_mhz": mhz} if mhz else {}
    return PeakList.from_unsorted(pos, inten, unit="ppm", technique="nmr", nucleus=nucleus,
                                  metadata=meta)


def _carbon_pairs():
    """Targets with a BMRB 13C list and an independent nmrshiftdb2 13C record (index facts)."""
    rows = [r for r in INDEX if r["nucleus"] == "13C" and r["kind"] == "peaklist"]
    bmrb = {r["inchikey"][:14]: r for r in rows if r["file"].startswith("bmrb_metabolomics/")
            and r["record_id"].endswith("13C") and r["inchikey"]}
    shiftdb = {}
    for r in rows:
        if r["file"].startswith("nmrshiftdb2/") and r["inchikey"][:14] in bmrb:
            shiftdb.setdefault(r["inchikey"][:14], r)
    return [(bmrb[k], shiftdb[k]) for k in sorted(shiftdb)]


def _same_compound(b, s) -> bool:
    """Same InChIKey as the record's own (file) key, or the same name: not a stereoisomer."""
    own_key = s["file"].rsplit("/", 1)[-1].removesuffix(".json")
    return own_key == b["inchikey"] or (
        s["compound_name"].strip().lower() == b["compound_name"].strip().lower())


CARBON = _carbon_pairs()


def test_real_13c_lists_find_their_compound():
    """A BMRB 13C list (DSS-referenced) ranks the same compound's independent
    nmrshiftdb2 list first among all paired lists (stereoisomers included as
    decoys), despite the ~2 ppm referencing offset."""
    same = [k for k, (b, s) in enumerate(CARBON) if _same_compound(b, s)]
    assert len(same) >= 3
    refs = [_peaks(_nmrshiftdb(s["file"], s["record_id"]), "13C") for _, s in CARBON]
    for k in same:
        b = CARBON[k][0]
        query = _peaks(_bmrb_lists(b["file"], b["record_id"].split("#")[1])[0], "13C")
        scores = [nmr_peak_similarity(query, r) for r in refs]
        assert int(np.argmax(scores)) == k, (b["compound_name"], scores)
        assert scores[k] > 0.4


@pytest.mark.parametrize("entry", ["bmse000119", "bmse000065", "bmse000103"])
def test_benchtop_query_against_high_field_lines(entry):
    """Multiplet centres read at 60 MHz match the 400-500 MHz transition lines once merged."""
    path = f"bmrb_metabolomics/targets/{entry}.json"
    # the same BMRB list gives multiplet centres (_Peak_char) and resolved lines (transitions)
    centres, lines, heights = _bmrb_lists(path, "spectral_peak_1H")
    assert lines.size > centres.size
    query = _peaks(centres, "1H", mhz=60.0)
    reference = _peaks(lines, "1H", heights, mhz=500.0)
    aware = nmr_peak_similarity(query, reference)
    blind = nmr_peak_similarity(query, reference, query_mhz=500.0)
    assert aware > blind
    assert aware > 0.5


def test_identical_lists_score_one_and_shift_is_recovered():
    rng = np.random.default_rng(3)
    pos = np.sort(rng.uniform(0.5, 9, 12))
    ref = _peaks(pos, "1H", rng.uniform(1, 5, 12))
    assert nmr_peak_similarity(ref, ref) == pytest.approx(1.0)
    moved = _peaks(pos + 0.04, "1H", ref.intensity)
    match = nmr_peak_match(moved, ref)
    assert match.score > 0.95
    assert match.offset_ppm == pytest.approx(-0.04, abs=0.006)
    assert nmr_peak_similarity(moved, ref, max_offset_ppm=0.0) < 0.1


def test_local_offsets_within_tolerance_still_match():
    rng = np.random.default_rng(4)
    pos = np.sort(rng.uniform(10, 180, 15))
    jitter = pos + rng.uniform(-0.2, 0.2, pos.size)
    assert nmr_peak_similarity(_peaks(jitter, "13C"), _peaks(pos, "13C")) > 0.8


def test_one_to_one_assignment():
    """Two query peaks near one reference peak: only one of them may pair."""
    ref = _peaks([2.00], "1H")
    query = _peaks([1.99, 2.01], "1H")
    match = nmr_peak_match(query, ref, max_offset_ppm=0.0)
    assert len(match.pairs) == 1
    # sqrt(0.5 * 1) * (1 - (0.01/0.03)**2)
    assert match.score == pytest.approx(np.sqrt(0.5) * (1 - (1 / 3) ** 2))


def test_19f_and_mismatched_nuclei():
    f = _peaks([-63.1, -110.5], "19F")
    assert nmr_peak_similarity(f, f) == pytest.approx(1.0)
    with pytest.raises(SpectrumError, match="1H"):
        nmr_peak_similarity(_peaks([1.0], "1H"), f)
    with pytest.raises(SpectrumError, match="ppm"):
        nmr_peak_similarity(PeakList([100.0], [1.0]), f)


def test_merge_lines_hand_checked():
    pos, inten = merge_lines([1.00, 1.01, 1.50], [1.0, 3.0, 2.0], 0.02)
    np.testing.assert_allclose(pos, [(1.00 * 1 + 1.01 * 3) / 4, 1.50])
    np.testing.assert_allclose(inten, [4.0, 2.0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=10),
       st.lists(st.floats(0.0, 10.0), min_size=1, max_size=10))
def test_score_is_bounded_and_symmetric_without_shift(a, b):
    pa, pb = _peaks(np.round(a, 3), "1H"), _peaks(np.round(b, 3), "1H")
    s_ab = nmr_peak_similarity(pa, pb, max_offset_ppm=0.0)
    s_ba = nmr_peak_similarity(pb, pa, max_offset_ppm=0.0)
    assert 0.0 <= s_ab <= 1.0 + 1e-12
    assert s_ab == pytest.approx(s_ba, abs=1e-9)


def _lorentz_spectrum(centres, mhz, width_hz=1.0, lo=0.0, hi=10.0, n=8192):
    axis = np.linspace(lo, hi, n)
    gamma = width_hz / mhz / 2
    y = sum(gamma**2 / ((axis - c) ** 2 + gamma**2) for c in centres)
    return Spectrum(axis, y, unit="ppm", technique="nmr", nucleus="1H",
                    metadata={"spectrometer_frequency_mhz": mhz})


def test_spectrum_correlation_shift_and_resolution():
    centres = [1.2, 3.4, 7.1]
    ref = _lorentz_spectrum(centres, 400.0)
    assert spectrum_correlation(ref, ref) == pytest.approx(1.0)
    benchtop = _lorentz_spectrum([c + 0.03 for c in centres], 60.0, width_hz=2.0)
    other = _lorentz_spectrum([2.2, 5.0], 60.0, width_hz=2.0)
    good = spectrum_correlation(benchtop, ref, query_resolution_hz=2.0)
    assert good > 0.9
    assert spectrum_correlation(other, ref, query_resolution_hz=2.0) < 0.3
    assert spectrum_correlation(benchtop, ref, max_offset_ppm=0.0) < good
