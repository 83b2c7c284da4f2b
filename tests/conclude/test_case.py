"""The SWGDRUG combination of techniques, on hand-made conclusions (what it combines is
unit logic; the rules that produce conclusions are tested on real hit lists in
test_rules_real.py)."""

from fentid.conclude import combine_case


def _case(ms_status, nmr_status="identified"):
    samples = [{"path": "run.D", "driver": "agilent", "technique": "ms"},
               {"path": "nmr/1", "driver": "bruker", "technique": "nmr"}]
    comps = [{"sample": "run.D", "conclusion": {
                 "status": ms_status, "compound": "para-Fluorofentanyl", "isomer_group": "g",
                 "candidates": ["para-Fluorofentanyl", "ortho-Fluorofentanyl"]}},
             {"sample": "nmr/1", "conclusion": {
                 "status": nmr_status, "compound": "ortho-Fluorofentanyl", "isomer_group": "g",
                 "candidates": ["ortho-Fluorofentanyl"]}}]
    return combine_case(samples, comps)


def test_ms_group_plus_nmr_identification_meets_swgdrug_minimum():
    case = _case("isomer_group")
    assert case["meets_swgdrug_minimum"] is True
    assert case["supported_compounds"] == ["ortho-Fluorofentanyl"]
    assert case["swgdrug_categories"] == {"MS": "A", "NMR": "A"}


def test_disagreeing_techniques_do_not_meet_minimum():
    case = _case("identified")  # MS says para, NMR says ortho
    assert case["meets_swgdrug_minimum"] is False
    assert any("do not agree" in lim for lim in case["limitations"])


def test_one_technique_never_meets_minimum():
    samples = [{"path": "a.msp", "driver": "msp", "technique": "ms"}]
    comps = [{"sample": "a.msp", "conclusion": {"status": "identified", "compound": "X",
                                                "candidates": ["X"]}}]
    case = combine_case(samples, comps)
    assert case["meets_swgdrug_minimum"] is False
    assert any("Only one technique" in lim for lim in case["limitations"])


def test_structural_isomer_group_is_no_ms_support():
    """A same-formula (structural) group does not support its members for SWGDRUG; a catalog
    positional-isomer group does (NMR then names one)."""
    samples = [{"path": "run.D", "driver": "agilent", "technique": "ms"},
               {"path": "nmr/1", "driver": "bruker", "technique": "nmr"}]
    nmr = {"sample": "nmr/1", "conclusion": {"status": "identified", "compound": "Crotonylfentanyl",
                                             "candidates": ["Crotonylfentanyl"]}}
    structural = {"sample": "run.D", "conclusion": {
        "status": "isomer_group", "compound": "Crotonylfentanyl",
        "isomer_group": "structural isomers C23H28N2O",
        "candidates": ["Crotonylfentanyl", "Cyclopropylfentanyl"]}}
    assert combine_case(samples, [structural, nmr])["meets_swgdrug_minimum"] is False
    positional = {"sample": "run.D", "conclusion": {**structural["conclusion"],
                                                    "isomer_group": "fluorofentanyl"}}
    assert combine_case(samples, [positional, nmr])["meets_swgdrug_minimum"] is True


def test_the_case_says_nmr_resolved_the_ms_isomer_group():
    case = _case("isomer_group")
    (row,) = case["resolved"]
    assert row["by"] == "NMR" and row["resolved_to"] == "ortho-Fluorofentanyl"
    assert row["candidates"] == ["para-Fluorofentanyl", "ortho-Fluorofentanyl"]


def test_nmr_resolves_a_stereo_limitation_of_an_ms_identification():
    samples = [{"path": "run.D", "driver": "agilent", "technique": "ms"},
               {"path": "nmr/1", "driver": "bruker", "technique": "nmr"}]
    comps = [{"sample": "run.D", "conclusion": {
                 "status": "identified", "compound": "Quinine", "candidates": ["Quinine"],
                 "stereo_isomers": ["Quinidine"]}},
             {"sample": "nmr/1", "conclusion": {"status": "identified", "compound": "Quinine",
                                                "candidates": ["Quinine"]}}]
    (row,) = combine_case(samples, comps)["resolved"]
    assert row["resolved_to"] == "Quinine" and "stereoisomers" in row["what"]


def test_nothing_is_resolved_by_a_tentative_nmr():
    assert _case("isomer_group", nmr_status="tentative")["resolved"] == []
