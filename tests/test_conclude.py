"""Conclusion rules on hand-made hit lists (the real-data evaluation is in benchmarks/)."""

from fentid.conclude import Knowledge, Policy, combine_case, conclude

P = Policy(identified=850, identified_reverse=850, tentative=650, replicate_spread=60)


def hit(name, score, rmf=None, group="", formula="", key=None):
    return {"compound": name, "inchikey": key or f"KEY-{name}", "score": score,
            "rmf": score if rmf is None else rmf, "isomer_group": group, "formula": formula}


def test_clear_best_is_identified():
    c = conclude([hit("Fentanyl", 930), hit("Acetylfentanyl", 700)], policy=P)
    assert c["status"] == "identified" and c["compound"] == "Fentanyl"


def test_low_reverse_score_is_only_tentative():
    c = conclude([hit("Fentanyl", 930, rmf=700), hit("Acetylfentanyl", 600)], policy=P)
    assert c["status"] == "tentative"


def test_other_compound_within_spread_is_tentative():
    c = conclude([hit("Fentanyl", 930), hit("Other", 900, formula="C1")], policy=P)
    assert c["status"] == "tentative" and "Other" in c["reason"]


def test_positional_isomers_within_spread_give_the_group():
    g = "fluorofentanyl"
    c = conclude([hit("para-Fluorofentanyl", 940, group=g),
                  hit("ortho-Fluorofentanyl", 915, group=g)], policy=P)
    assert c["status"] == "isomer_group" and c["isomer_group"] == g
    assert set(c["candidates"]) == {"para-Fluorofentanyl", "ortho-Fluorofentanyl"}
    assert "NMR" in c["reason"]


def test_isomer_missing_from_library_prevents_identification():
    g = "fluorofentanyl"
    know = Knowledge(groups={g: {"para-Fluorofentanyl", "ortho-Fluorofentanyl"}},
                     in_library={"para-fluorofentanyl"})
    c = conclude([hit("para-Fluorofentanyl", 960, group=g), hit("Fentanyl", 600)],
                 knowledge=know, policy=P)
    assert c["status"] == "isomer_group"
    assert "ortho-Fluorofentanyl" in c["candidates"]


def test_nmr_resolves_isomers():
    g = "fluorofentanyl"
    c = conclude([hit("para-Fluorofentanyl", 0.95, group=g), hit("ortho", 0.5, group=g)],
                 technique="nmr", algorithm="nmr")
    assert c["status"] == "identified"


def test_nothing_similar_is_no_match():
    assert conclude([hit("Fentanyl", 400)], policy=P)["status"] == "no_match"
    assert conclude([], policy=P)["status"] == "no_match"


def test_same_compound_from_two_entries_is_not_a_rival():
    c = conclude([hit("Fentanyl", 930), hit("Fentanyl", 920), hit("Other", 600)], policy=P)
    assert c["status"] == "identified"


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
