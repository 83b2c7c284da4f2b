"""Transparent gzip: ``X.mzML.gz``, ``X.msp.gz``, ``X.jdx.gz`` ... read like the plain file.

Format notes
------------
Not a driver. gzip (RFC 1952) starts with the magic bytes ``1f 8b``; the
registry sniffs a gzip file by its *decompressed* first bytes, so any driver
can claim it, and reads it either

* by streaming, for drivers that open their file through :func:`open_binary`
  (``Driver.reads_gzip``: mzML and mzXML, whose files can be GB), or
* by decompressing it to a temporary file named like the original without
  ``.gz`` and handing that to the driver (every other single-file format,
  NMR included), after which paths and digests are put back to the ``.gz``
  file (:func:`restore_source`).

The digest (``sha256``) of a gzip source is that of the ``.gz`` file as the
user has it. A truncated or corrupt stream raises one
:class:`~fentid.errors.CorruptDataError` naming the ``.gz`` file.
Multi-member gzip files (``cat a.gz b.gz``) decompress as one stream, as
``gunzip`` does. Sources: RFC 1952; Python's :mod:`gzip`.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zlib
from pathlib import Path

from fentid.errors import CorruptDataError, TruncatedDataError

GZIP_MAGIC = b"\x1f\x8b"
#: Compressed bytes read to decompress a sniffing head.
_HEAD_INPUT_BYTES = 1 << 16


def is_gzip(path: Path) -> bool:
    """True when ``path`` is a regular file starting with the gzip magic bytes."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def decompressed_name(path: Path) -> str:
    """File name without its ``.gz``/``.gzip``/``.z`` suffix (``a.mzML.gz`` -> ``a.mzML``)."""
    name = path.name
    for suffix in (".gz", ".gzip", ".z"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def gunzip_head(path: Path, n: int) -> bytes:
    """The first ``n`` decompressed bytes of a gzip file (fewer if it is shorter).

    Raises
    ------
    CorruptDataError
        The start of the stream is not valid deflate data (the gzip header is
        damaged), so the content cannot even be recognised.
    """
    with open(path, "rb") as fh:
        raw = fh.read(_HEAD_INPUT_BYTES)
    try:
        # wbits=31: gzip container; a partial stream is fine here (only the head is wanted)
        return zlib.decompressobj(31).decompress(raw, n)
    except zlib.error as exc:
        raise CorruptDataError(f"gzip-compressed, but the data cannot be decompressed: {exc}",
                               path) from exc


class GzipSource(io.RawIOBase):
    """A read-only binary stream of a gzip file's content, errors as CorruptDataError.

    ``gzip`` raises ``EOFError`` for a truncated stream and ``BadGzipFile`` /
    ``zlib.error`` for corrupt data, which name neither the file nor what the
    user should do; this stream turns them into one CorruptDataError naming
    the ``.gz`` file.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self._gz = gzip.open(self.path, "rb")  # noqa: SIM115 - closed by close()

    def _translate(self, call, *args):
        try:
            return call(*args)
        except EOFError as exc:
            raise TruncatedDataError(
                "the gzip data ends before its end marker: the .gz file is truncated",
                self.path) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise CorruptDataError(f"the gzip data is corrupt: {exc}", self.path) from exc

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._translate(self._gz.readinto, buffer)

    def read(self, size: int = -1) -> bytes:
        return self._translate(self._gz.read, size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # gzip seeks forward by decompressing (backwards: from the start again)
        return self._translate(self._gz.seek, offset, whence)

    def tell(self) -> int:
        return self._gz.tell()

    def close(self) -> None:
        if not self.closed:
            self._gz.close()
        super().close()


def open_binary(path) -> io.RawIOBase:
    """Open a file for binary reading, decompressing it when it is gzip.

    Drivers that stream their file (mzML, mzXML) open it with this, so a
    ``.gz`` copy reads like the plain file without a temporary copy.
    """
    path = Path(path)
    if is_gzip(path):
        return GzipSource(path)
    return open(path, "rb")


def gunzip_to(path: Path, target: Path) -> None:
    """Decompress ``path`` into the file ``target``.

    Raises
    ------
    CorruptDataError
        Truncated or corrupt gzip data (naming ``path``).
    """
    with GzipSource(path) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
