"""HDF5 reference library, curation and search index (the only place h5py is imported).

``Library.open(path)`` reads; :func:`create` and :func:`edit` write (atomically, one writer
at a time).  Layout and names: :mod:`fentid.reference_library.schema`.
"""

from fentid.reference_library.store import Library
from fentid.reference_library.writer import LibraryWriter, create, edit

__all__ = ["Library", "LibraryWriter", "create", "edit"]
