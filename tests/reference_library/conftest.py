"""Libraries built once per session from the real data."""

from __future__ import annotations

import pytest

from fentid.curation import import_sources
from fentid.reference_library import create
from tests.conftest import MS

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"


@pytest.fixture(scope="session")
def swgdrug_library(tmp_path_factory):
    """A library with the catalog and all of SWGDRUG39.msp imported (read-only for tests)."""
    path = tmp_path_factory.mktemp("lib") / "swgdrug.h5"
    create(path, name="swgdrug")
    report = import_sources(path, [SWGDRUG], curator="pytest")
    return path, report


@pytest.fixture()
def empty_library(tmp_path):
    path = tmp_path / "lib.h5"
    create(path, name="test", curator="pytest")
    return path
