"""Thermo Xcalibur ``.raw`` files: recognised, not read (the route to mzML is named).

Format notes
------------
- Layout: a proprietary binary container. It starts with the 2-byte magic
  ``01 A1`` followed by ``"Finnigan"`` in UTF-16LE (the "Finnigan file header"),
  then a version number, the file's creation details, the run header, instrument
  method, scan index and trailer extra records.
- Reading the scans needs Thermo's RawFileReader (.NET, Thermo licence
  restrictions); no offline, pure-Python reader is reliable across file
  versions, so fentid does not read them. The supported route is to convert
  with ThermoRawFileParser (``ThermoRawFileParser -i file.raw -f 2`` for indexed
  mzML) or ProteoWizard ``msconvert file.raw --mzML``, then read the mzML.
- Sources: ThermoRawFileParser and unfinnigan documentation of the header;
  formats/thermo_raw samples (small.RAW, sample.raw).
"""

from __future__ import annotations

from pathlib import Path

from fentid.drivers.registry import Driver, register
from fentid.errors import FormatError
from fentid.spectra.model import Dataset

NAME = "thermo"
MAGIC = b"\x01\xa1" + "Finnigan".encode("utf-16-le")

ROUTE = ("Thermo .raw files are not read directly (they need Thermo's RawFileReader). "
         "Convert to mzML with ThermoRawFileParser (ThermoRawFileParser -i FILE.raw -f 2) "
         "or ProteoWizard (msconvert FILE.raw --mzML), then run fentid on the .mzML")


def sniff(path: Path, head: bytes) -> bool:
    """The Finnigan file header: ``01 A1`` then ``Finnigan`` in UTF-16LE."""
    return head.startswith(MAGIC)


def read(path: Path) -> Dataset:
    """Always raises: names the conversion route.

    Raises
    ------
    FormatError
        With the ThermoRawFileParser / msconvert commands to produce mzML.
    """
    raise FormatError(ROUTE, path)


register(Driver(NAME, sniff, read, "ms", "Thermo Xcalibur .raw (detected; convert to mzML)",
                (".raw",)))
