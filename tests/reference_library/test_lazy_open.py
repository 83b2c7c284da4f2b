"""Opening a library's search index reads no peak: NIST search never needs the m/z."""

from __future__ import annotations

import numpy as np
import pytest

from fentid.errors import LibraryError
from fentid.reference_library import Library
from fentid.reference_library.search import SearchIndex


def _raw(seg, key):
    return dict.__getitem__(seg.a, key)


def test_index_opens_without_reading_peaks_and_loads_them_on_use(swgdrug_library):
    path, _ = swgdrug_library
    with Library.open(path) as lib:
        index = lib.search_index("ei")
        pos, inten, off = lib.peaks("ei")
        query = lib.entry_peaklist(int(lib.entry_columns("ei")["entry_id"][100]))
        segs = index._segments
        # after open: the peaks are loaders, not arrays
        assert all(callable(_raw(s, "mz")) and callable(_raw(s, "intensity")) for s in segs)
        full = SearchIndex.build(pos, inten, off)
        assert index.search(query, "identity", top=10) == full.search(query, "identity",
                                                                      top=10)
        assert all(callable(_raw(s, "mz")) for s in segs)  # identity did not need them
        got = index.search(query, "cosine", top=10)  # cosine needs them: read now
        want = full.search(query, "cosine", top=10)
        assert [h.entry_index for h in got] == [h.entry_index for h in want]
        assert np.allclose([h.score for h in got], [h.score for h in want], rtol=0, atol=1e-9)
        assert all(isinstance(_raw(s, "mz"), np.ndarray) for s in segs)
        assert index.entry(5).position.tolist() == full.entry(5).position.tolist()
        late = lib.search_index("ei")
    with pytest.raises(LibraryError, match="closed before its peaks were read"):
        late.search(query, "cosine", top=3)
