"""Varian (Bruker) Saturn GC/MS Workstation ``.SMS`` files: recognised, not read.

Format notes
------------
- Layout: a proprietary little-endian container written by Varian MS
  Workstation (Saturn ion traps, later sold by Bruker). It starts with
  ``1c 00 09 03``, a header whose bytes 8-15 read ``SATURNWS``, then a
  directory of named segments (``DIRECTORY``, ``MSData``, ``ModuleInfo:..``,
  ``Method.*``, ``RunLog.*``, ``EventLog.*``, ``SamplePrep.*``...), each with
  its start and end offset; the scans live in ``MSData``.
- Why not read: no published description of the ``MSData`` scan encoding and
  no installable offline reader exists (checked: aston 0.7.1 lists ``.SMS``
  as a TODO, entab 0.3 has no Saturn parser, pyteomics/rainbow-api neither;
  the R package chromConverter reads it, but its code is R and not available
  here). Decoding it from one sample file without a vendor or library reference
  to check against would give numbers nobody can vouch for, so fentid
  recognises the file and names the conversion route instead.
- Route: in Varian MS Workstation (or Bruker MS Workstation 7/8) export the
  run as ANDI/AIA netCDF (``.cdf``; fentid reads it as a GC-MS run) or the
  spectra of interest as a NIST ``.MSP`` library; chromConverter (R) can also
  convert it.
- Sources: the sample ``wild/saturn_DCM1.SMS`` (chromConverterExtraTests),
  whose directory shows the segment names above; aston's ``tracefile/mime.py``.
"""

from __future__ import annotations

from pathlib import Path

from fentid.drivers.registry import Driver, register
from fentid.errors import FormatError
from fentid.spectra.model import Dataset

NAME = "saturn"
#: Bytes 8-15 of every Saturn workstation file.
SIGNATURE = b"SATURNWS"

ROUTE = ("Varian/Bruker Saturn GC/MS Workstation .SMS files are not read (no documented "
         "layout or offline reader exists); export the run from MS Workstation as ANDI/AIA "
         "netCDF (.cdf) or the spectra as a NIST .MSP file (or convert it with the R package "
         "chromConverter), then run fentid on that")


def sniff(path: Path, head: bytes) -> bool:
    """``SATURNWS`` at byte 8 of the file header."""
    return len(head) >= 16 and head[8:16] == SIGNATURE


def read(path: Path) -> Dataset:
    """Always raises: names the export route.

    Raises
    ------
    FormatError
        With the netCDF / MSP export route, and whether the file holds MS data.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    what = "it holds an MSData segment (mass spectra)" if b"MSData" in head else \
        "no MSData segment was found in its directory"
    raise FormatError(f"{ROUTE}; {what}", path)


register(Driver(NAME, sniff, read, "ms",
                "Varian Saturn GC/MS Workstation .SMS (detected; export to netCDF or MSP)",
                (".sms",)))
