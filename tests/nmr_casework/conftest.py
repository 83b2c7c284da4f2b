"""A reference library of every shared NMR record, built once per session."""

from __future__ import annotations

import pytest

from tests.conftest import NMR

#: Records the index marks ``ambiguous_stereo``: not references.
AMBIGUOUS = ("FBPFZTCFMRRESA-UHFFFAOYSA-N.json", "LOUPRKONTZGTKE-UHFFFAOYSA-N.json")


@pytest.fixture(scope="session")
def shared_nmr_lib(tmp_path_factory):
    from fentid.curation import import_sources
    from fentid.reference_library import create

    path = tmp_path_factory.mktemp("shared_nmr") / "nmr.h5"
    create(path)
    files = (sorted(NMR.glob("bmrb_metabolomics/*/*.json"))
             + sorted(NMR.glob("asics_pure_library/*/*.csv"))
             + [NMR / "cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf"]
             + sorted(NMR.glob("nmrshiftdb2/*/*.json")))
    report = import_sources(path, [f for f in files if f.name not in AMBIGUOUS],
                            source_root=NMR)
    assert report.imported > 3000
    return path
