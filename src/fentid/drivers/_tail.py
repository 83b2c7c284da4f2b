"""The end of a file: how drivers tell a half-written XML or text file from a damaged one.

A writer that has not finished (an instrument still acquiring, a copy in progress) leaves a
file without its closing root tag (``</mzML>``, ``</mzXML>``, ``</nmrML>``); a syntax error
in a file that does end properly is damage.  Drivers raise
:class:`~fentid.errors.TruncatedDataError` for the first (the watch-folder service retries)
and :class:`~fentid.errors.CorruptDataError` for the second.
"""

from __future__ import annotations

import re
from pathlib import Path

from fentid.drivers._gzip import is_gzip, open_binary

#: Bytes at the end of a file searched for its closing tag.
TAIL_BYTES = 4096


def file_tail(path: str | Path, n: int = TAIL_BYTES) -> bytes:
    """The last ``n`` bytes of a file's content (a gzip file is decompressed to its end,
    which also checks its trailer)."""
    path = Path(path)
    if is_gzip(path):
        tail = b""
        with open_binary(path) as fh:
            while chunk := fh.read(1 << 20):
                tail = (tail + chunk)[-n:]
        return tail
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - n))
        return fh.read()


def ends_with_closing_tag(path: str | Path, *tags: str) -> bool:
    """True when the file's content ends with ``</tag>`` for one of ``tags`` (whitespace
    after it allowed)."""
    names = b"|".join(re.escape(t.encode()) for t in tags)
    return re.search(rb"</(?:" + names + rb")>\s*$", file_tail(path)) is not None
