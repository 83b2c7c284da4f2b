"""NIST MS Search 2.4's own hit list, reproduced exactly (not within 1).

``shared/data/ms/NIST-MS-Search-peer`` holds one unknown (undecane), the 90 library spectra
NIST MS Search searched, and its hit list (MF, RMF, the hit's 1-based record number).  Every
MF and RMF there must come out of fentid's pair functions, the compiled one-against-many
kernel and the library search index, exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fentid.drivers import read
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList
from tests.conftest import MS

PEER = MS / "NIST-MS-Search-peer"


def _peaks(item) -> PeakList:
    return PeakList(item.axis, item.intensities, technique="ms", unit="m/z")


@pytest.fixture(scope="module")
def peer():
    library = [_peaks(s) for s in read(PEER / "library.msp").items]
    unknown = _peaks(read(PEER / "query_undecane.msp").items[0])
    expected = json.loads((PEER / "expected_undecane.json").read_text())["Undecane"]
    return unknown, library, expected


def test_peer_set_is_what_its_readme_says(peer):
    unknown, library, expected = peer
    assert len(library) == 90 and len(expected) == 10
    assert len(unknown) == 23


def test_pair_factors_equal_nist_ms_search(peer):
    unknown, library, expected = peer
    got = [(e["id"], sm.identity_match_factor(unknown, library[e["id"] - 1]),
            sm.reverse_match_factor(unknown, library[e["id"] - 1])) for e in expected]
    assert got == [(e["id"], e["mf"], e["rmf"]) for e in expected]


def test_compiled_kernel_equals_nist_ms_search(peer):
    unknown, library, expected = peer
    mu, iu = sm.nist_preprocess(unknown.position, unknown.intensity)
    pre = [sm.nist_preprocess(p.position, p.intensity) for p in library]
    offsets = np.concatenate(([0], np.cumsum([m.size for m, _ in pre])))
    ml = np.concatenate([m for m, _ in pre])
    il = np.concatenate([c for _, c in pre])
    mf = sm.nist_factors_many(mu, iu, ml, il, offsets)
    rmf = sm.nist_factors_many(mu, iu, ml, il, offsets, reverse=True)
    for e in expected:
        assert (mf[e["id"] - 1], rmf[e["id"] - 1]) == (e["mf"], e["rmf"]), e


def test_library_search_gives_nist_hit_list(peer, tmp_path):
    """The search index (what `fentid search` uses) ranks and scores as NIST MS Search."""
    from fentid.reference_library.search import SearchIndex

    unknown, library, expected = peer
    offsets = np.concatenate(([0], np.cumsum([len(p) for p in library])))
    index = SearchIndex.build(np.concatenate([p.position for p in library]),
                              np.concatenate([p.intensity for p in library]), offsets)
    hits = index.search(unknown, algorithm="identity", top=10)
    # equal MFs (853 twice) may come in either order: compare sorted by (-MF, record)
    got = sorted((-h.mf, h.entry_index + 1, h.rmf) for h in hits)
    assert got == sorted((-e["mf"], e["id"], e["rmf"]) for e in expected)
