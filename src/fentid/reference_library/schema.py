"""Every dataset, group and attribute name of the library file, spelled once.

Layout (schema version 1)::

    /                         attrs: fentid_library, schema_version, library_version, name,
                              created, modified, content_checksum, next_entry_id
    /strings/data             uint8, UTF-8 bytes of every distinct string, concatenated
    /strings/offsets          int64 (n_strings + 1,); string i is data[offsets[i]:offsets[i+1]]
    /compounds/<column>       one dataset per column; text columns hold int32 indices into
                              /strings, monoisotopic_mass is float64 (Da)
    /techniques/<tech>/entries/<column>   one row per reference spectrum (columns below)
    /techniques/<tech>/peaks/position     float32 (EI, nominal masses) or float64 (m/z or ppm)
    /techniques/<tech>/peaks/intensity    float32, relative intensity as the record gives it
    /techniques/<tech>/peaks/offsets      int64 (n_entries + 1,); entry row i owns
                                          position[offsets[i]:offsets[i+1]]
    /techniques/<tech>/profiles/{row,offsets,axis,intensity}   optional full spectra
    /techniques/<tech>/index/segmentNNNN/<name>   SearchIndex.to_arrays() of the entries
                                          [entry_rows[0], entry_rows[1]); arrays equal to
                                          /peaks (mz, intensity, offsets) are not repeated
    /audit/<column>           append-only trail of every change

Every large dataset is chunked with an unlimited first dimension so an edit appends to the
tail of a copy instead of rewriting it.  Each content dataset carries a ``block_sha256``
attribute (SHA-256 per :data:`CHECKSUM_BLOCK_BYTES` block) so the content checksum is updated
for the changed tail only.
"""

from __future__ import annotations

import numpy as np

#: Version written by this code; files with another version are refused.
SCHEMA_VERSION = 1
#: Root attribute that marks an HDF5 file as a fentid library (value: :data:`FORMAT_TAG`).
ATTR_FORMAT = "fentid_library"
FORMAT_TAG = "fentid reference library"
ATTR_SCHEMA_VERSION = "schema_version"
ATTR_LIBRARY_VERSION = "library_version"
ATTR_NAME = "name"
ATTR_CREATED = "created"
ATTR_MODIFIED = "modified"
ATTR_CHECKSUM = "content_checksum"
ATTR_NEXT_ENTRY_ID = "next_entry_id"
ATTR_BLOCK_SHA = "block_sha256"
ATTR_INDEX_PEAKS = "indexed_entries"
ATTR_SEGMENT_ROWS = "entry_rows"      # [first, stop) entry rows a search-index segment covers
ATTR_FROM_PEAKS = "from_peaks"        # index arrays not stored because they equal /peaks
SEGMENT_PREFIX = "segment"
#: Index segments kept before the next change rebuilds the index as one.
MAX_INDEX_SEGMENTS = 8

GROUP_STRINGS = "strings"
GROUP_COMPOUNDS = "compounds"
GROUP_TECHNIQUES = "techniques"
GROUP_ENTRIES = "entries"
GROUP_PEAKS = "peaks"
GROUP_PROFILES = "profiles"
GROUP_INDEX = "index"
GROUP_AUDIT = "audit"

DS_DATA = "data"
DS_OFFSETS = "offsets"
DS_POSITION = "position"
DS_INTENSITY = "intensity"
DS_AXIS = "axis"
DS_ROW = "row"

#: Techniques an entry can belong to.  ``ei``: electron-ionisation MS (nominal-mass stick
#: spectra); ``ms1``: other full-scan MS; ``msms``: product-ion spectra; ``nmr_*``: peak lists.
TECHNIQUES = ("ei", "ms1", "msms", "nmr_1h", "nmr_13c", "nmr_19f")
#: Techniques with a stored search index (MS); NMR peak lists are scored pairwise by callers
#: (ppm can be negative, and the MS index bins by nominal mass).
INDEXED_TECHNIQUES = ("ei", "ms1", "msms")
POSITION_DTYPE = {"ei": np.float32}
DEFAULT_POSITION_DTYPE = np.float64
INTENSITY_DTYPE = np.float32
UNIT = {"ei": "m/z", "ms1": "m/z", "msms": "m/z", "nmr_1h": "ppm", "nmr_13c": "ppm",
        "nmr_19f": "ppm"}
NUCLEUS = {"nmr_1h": "1H", "nmr_13c": "13C", "nmr_19f": "19F"}

#: Compound columns: text columns are string-pool indices.
COMPOUND_TEXT = ("name", "synonyms", "smiles", "inchikey", "formula", "compound_class",
                 "isomer_group", "legal_note", "origin")
COMPOUND_FLOAT = ("monoisotopic_mass",)

#: Entry columns and their dtypes; ``str`` marks string-pool indices (int32).
ENTRY_COLUMNS = {
    "entry_id": np.int64,
    "compound": np.int32,
    "record_name": str,
    "precursor_mz": np.float64,
    "polarity": np.int8,           # +1, -1, 0 unknown
    "collision_energy_ev": np.float32,
    "ms_level": np.int8,
    "ionization": str,
    "instrument": str,
    "field_mhz": np.float32,
    "solvent": str,
    "source": str,
    "sha256": str,
    "source_record": np.int32,     # 1-based record number in the source file, 0 when single
    "licence": str,
    "accession": str,
    "curator": str,
    "added_at": np.float64,        # unix time, s
    "retired": np.int8,
}
AUDIT_COLUMNS = {
    "time": np.float64,
    "library_version": np.int64,
    "action": str,
    "entry_id": np.int64,          # -1 when the action is not about one entry
    "curator": str,
    "detail": str,                 # JSON
}

#: Elements per chunk of the peak and index arrays (2 MB of float64).
CHUNK_ELEMENTS = 1 << 18
#: Elements per chunk of entry, compound, string and audit columns.
TABLE_CHUNK_ELEMENTS = 1 << 13
#: Block size of the per-dataset content checksum.
CHECKSUM_BLOCK_BYTES = 1 << 25


def string_dtype(spec) -> np.dtype:
    """Storage dtype of a column spec (``str`` means an int32 string-pool index)."""
    return np.dtype(np.int32) if spec is str else np.dtype(spec)


def position_dtype(technique: str) -> np.dtype:
    """Storage dtype of peak positions for ``technique``."""
    return np.dtype(POSITION_DTYPE.get(technique, DEFAULT_POSITION_DTYPE))
