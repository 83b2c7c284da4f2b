"""Validation: the catalog, the anilidopiperidine core, formula/mass arithmetic, RDKit absence."""

from __future__ import annotations

import numpy as np
import pytest

from fentid.reference_library import validate as V
from fentid.reference_library.catalog import CompoundMatcher, load_catalog, normalise_name
from tests.conftest import load_index

CATALOG = load_index("compounds/catalog.csv")


@pytest.mark.parametrize("row", CATALOG, ids=[r["name"] for r in CATALOG])
def test_every_catalog_entry_validates(row):
    comp = {"smiles": row["smiles"], "formula": row["formula"], "inchikey": row["inchikey"],
            "monoisotopic_mass": float(row["monoisotopic_mass"]),
            "compound_class": row["class"]}
    findings = V.check_compound(comp)
    assert not V.errors(findings), findings
    assert any(f.level == "ok" for f in findings)


def test_formula_mass_agrees_with_catalog_without_rdkit():
    for row in CATALOG:
        assert V.formula_mass(row["formula"]) == pytest.approx(
            float(row["monoisotopic_mass"]), abs=1e-3), row["name"]


@pytest.mark.parametrize("name", ["Carfentanil", "Sufentanil", "Remifentanil", "Lofentanil",
                                  "Fentanyl", "Acetylfentanyl"])
def test_core_found_including_quaternary_c4(name):
    row = next(r for r in CATALOG if r["name"] == name)
    assert V.structure_facts(row["smiles"])["core"]


@pytest.mark.parametrize("cls", ["cutting_agent", "nitazene", "other_opioid"])
def test_core_absent_outside_the_fentanyl_class(cls):
    rows = [r for r in CATALOG if r["class"] == cls]
    assert rows and not any(V.structure_facts(r["smiles"])["core"] for r in rows)


def test_fentanyl_class_without_core_is_an_error():
    caffeine = next(r for r in CATALOG if r["name"].lower() == "caffeine")
    findings = V.check_structure({"smiles": caffeine["smiles"]}, "fentanyl_analog")
    assert [f.field for f in V.errors(findings)] == ["smiles"]


def test_inconsistent_fields_name_the_field():
    fent = next(r for r in CATALOG if r["name"] == "Fentanyl")
    assert V.errors(V.check_structure({"smiles": fent["smiles"], "formula": "C22H29N2O"})
                    )[0].field == "formula"
    assert V.errors(V.check_structure({"smiles": fent["smiles"],
                                       "inchikey": "GGCSSNBKKAUURC-UHFFFAOYSA-N"}))[0].field \
        == "inchikey"
    assert V.errors(V.check_structure({"formula": "C22H28N2O", "exact_mass": 337.0})
                    )[0].field == "monoisotopic_mass"
    assert V.errors(V.check_structure({"smiles": "C1CC(("}))[0].field == "smiles"


def test_without_rdkit_structure_checks_are_skipped_not_passed(monkeypatch):
    monkeypatch.setattr(V, "rdkit_available", lambda: False)
    fent = next(r for r in CATALOG if r["name"] == "Fentanyl")
    findings = V.check_structure({"smiles": fent["smiles"], "formula": fent["formula"]})
    assert [f.level for f in findings] == ["skipped"]
    assert "RDKit" in findings[0].message


def test_ei_flags():
    assert V.check_ei_peaks(np.array([50.0, 400.0]), np.array([1.0, 2.0]), 336.2)[0].level \
        == "warning"
    assert V.check_ei_peaks(np.array([50.0, 60.0]), np.array([5.0, 5.0]), 336.2)[0].message \
        == "all peak intensities are equal"
    assert V.check_ei_peaks(np.array([50.0, 338.0]), np.array([1.0, 2.0]), 336.2) == []


def test_matcher_inchikey_then_name_and_conflicts():
    comps = load_catalog()
    m = CompoundMatcher(comps)
    fent = next(i for i, c in enumerate(comps) if c["name"] == "Fentanyl")
    assert m.match(inchikey="PJMPHNIQZUBGLI-UHFFFAOYSA-N") == fent
    assert m.match(name="  FENTANYL ") == fent
    assert m.match(name="fentanil") == fent  # a catalog synonym
    # a record naming Fentanyl with another structure's InChIKey is not Fentanyl
    assert m.match(inchikey="AAAAAAAAAAAAAA-UHFFFAOYSA-N", name="Fentanyl") is None
    assert normalise_name("para\u2013Fluoro fentanyl") == normalise_name("para-fluorofentanyl")
