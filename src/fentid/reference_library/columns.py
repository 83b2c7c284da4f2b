"""Low-level HDF5 helpers: appendable columns, the string pool and block checksums.

Only this package imports h5py (DESIGN.md section 2).
"""

from __future__ import annotations

import hashlib

import h5py
import numpy as np

from fentid.reference_library import schema as S


def create_column(group: h5py.Group, name: str, dtype, data=None,
                  chunk_elements: int = S.TABLE_CHUNK_ELEMENTS) -> h5py.Dataset:
    """Create a chunked, appendable 1-D dataset (unlimited length, uncompressed for speed).

    ``chunk_elements`` trades space in small libraries against the number of chunks in big
    ones: tables use :data:`schema.TABLE_CHUNK_ELEMENTS`, peak arrays
    :data:`schema.CHUNK_ELEMENTS`.
    """
    dtype = np.dtype(dtype)
    data = np.zeros(0, dtype) if data is None else np.ascontiguousarray(data, dtype=dtype)
    chunk = max(1, chunk_elements)
    ds = group.create_dataset(name, data=data, maxshape=(None,), chunks=(chunk,))
    update_block_hashes(ds, 0)
    return ds


def append(ds: h5py.Dataset, values) -> int:
    """Append ``values`` to the tail of ``ds``; returns the old length."""
    values = np.ascontiguousarray(values, dtype=ds.dtype)
    old = ds.shape[0]
    if values.size:
        ds.resize((old + values.size,))
        ds.write_direct(values, dest_sel=np.s_[old:old + values.size])
        update_block_hashes(ds, old)
    return old


def write_fixed(group: h5py.Group, name: str, values: np.ndarray) -> h5py.Dataset:
    """Write a never-appended array contiguously (exact size, fastest to read back)."""
    ds = group.create_dataset(name, data=np.ascontiguousarray(values))
    update_block_hashes(ds, 0)
    return ds


def block_elements(ds: h5py.Dataset) -> int:
    """Elements per checksum block of ``ds``."""
    return max(1, S.CHECKSUM_BLOCK_BYTES // ds.dtype.itemsize)


def update_block_hashes(ds: h5py.Dataset, first_changed: int) -> None:
    """Recompute the SHA-256 of every block from the one holding ``first_changed`` on."""
    per = block_elements(ds)
    n = ds.shape[0] if ds.ndim == 1 else int(np.prod(ds.shape))
    if ds.ndim != 1:
        digest = hashlib.sha256(np.ascontiguousarray(ds[...]).tobytes()).digest()
        ds.attrs[S.ATTR_BLOCK_SHA] = np.frombuffer(digest, np.uint8).reshape(1, 32)
        return
    old = ds.attrs.get(S.ATTR_BLOCK_SHA)
    start_block = min(first_changed // per, 0 if old is None else len(old))
    kept = [] if old is None else [bytes(row) for row in np.asarray(old)[:start_block]]
    n_blocks = -(-n // per) if n else 0
    for b in range(start_block, n_blocks):
        lo, hi = b * per, min(n, (b + 1) * per)
        buf = np.empty(hi - lo, ds.dtype)
        ds.read_direct(buf, source_sel=np.s_[lo:hi])
        kept.append(hashlib.sha256(buf.tobytes()).digest())
    arr = np.frombuffer(b"".join(kept), np.uint8).reshape(len(kept), 32)
    ds.attrs[S.ATTR_BLOCK_SHA] = arr


def set_rows(ds: h5py.Dataset, rows: np.ndarray, values) -> None:
    """Overwrite some rows in place (small edits: retire flags) and rehash their blocks."""
    rows = np.asarray(rows, dtype=np.int64)
    if not rows.size:
        return
    data = ds[...]
    data[rows] = values
    ds[...] = data
    update_block_hashes(ds, int(rows.min()))


def content_checksum(f: h5py.File, verify: bool = False) -> str:
    """SHA-256 over every dataset's name, dtype, shape and block digests.

    Parameters
    ----------
    verify : bool
        Recompute every block from the data first (slow, reads everything) instead of
        trusting the stored block digests; used by ``library validate``.
    """
    parts: list[bytes] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            if verify:
                update_block_hashes(obj, 0)
            blocks = obj.attrs.get(S.ATTR_BLOCK_SHA)
            blocks = b"" if blocks is None else np.asarray(blocks, np.uint8).tobytes()
            parts.append(f"{name}|{obj.dtype.str}|{obj.shape}|".encode() + blocks)

    f.visititems(visit)
    return hashlib.sha256(b"\n".join(sorted(parts))).hexdigest()


class StringPool:
    """Distinct strings stored once as UTF-8 bytes + offsets; columns hold int32 indices.

    Index 0 is always the empty string.
    """

    def __init__(self, group: h5py.Group):
        self.group = group
        self._data: np.ndarray | None = None
        self._offsets: np.ndarray | None = None
        self._cache: dict[int, str] = {}
        self._lookup: dict[str, int] | None = None
        self._pending: list[bytes] = []
        self._n_stored: int | None = None

    @staticmethod
    def create(group: h5py.Group) -> None:
        create_column(group, S.DS_DATA, np.uint8, chunk_elements=1 << 16)
        create_column(group, S.DS_OFFSETS, np.int64, np.zeros(2, np.int64))

    def _load(self) -> None:
        if self._data is None:
            self._data = self.group[S.DS_DATA][...]
            self._offsets = self.group[S.DS_OFFSETS][...]

    def __len__(self) -> int:
        if self._n_stored is None:
            self._n_stored = self.group[S.DS_OFFSETS].shape[0] - 1
        return self._n_stored + len(self._pending)

    def get(self, index: int) -> str:
        """The string with pool index ``index``."""
        index = int(index)
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        self._load()
        n_stored = self._offsets.size - 1
        if index >= n_stored:
            text = self._pending[index - n_stored].decode("utf-8")
        else:
            lo, hi = self._offsets[index], self._offsets[index + 1]
            text = self._data[lo:hi].tobytes().decode("utf-8")
        self._cache[index] = text
        return text

    def get_many(self, indices) -> list[str]:
        return [self.get(i) for i in np.asarray(indices).tolist()]

    def intern(self, text) -> int:
        """Pool index of ``text``, adding it when new (written by :meth:`flush`)."""
        text = "" if text is None else str(text)
        if self._lookup is None:
            self._load()
            n = self._offsets.size - 1
            self._lookup = {self.get(i): i for i in range(n)}
        hit = self._lookup.get(text)
        if hit is None:
            hit = len(self)
            self._pending.append(text.encode("utf-8"))
            self._lookup[text] = hit
            self._cache[hit] = text
        return hit

    def flush(self) -> None:
        """Append pending strings to the file."""
        if not self._pending:
            return
        lengths = np.fromiter((len(b) for b in self._pending), np.int64, len(self._pending))
        end = self.group[S.DS_OFFSETS][-1]
        append(self.group[S.DS_DATA], np.frombuffer(b"".join(self._pending), np.uint8))
        append(self.group[S.DS_OFFSETS], end + np.cumsum(lengths))
        self._pending = []
        self._data = self._offsets = None
        self._n_stored = None
