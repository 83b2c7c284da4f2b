"""Shimadzu LabSolutions ``.lcd`` (and GCMSsolution ``.qgd``): recognised, not read.

Format notes
------------
- Layout: an OLE2 / Microsoft Compound File (magic ``D0 CF 11 E0 A1 B1 1A E1``,
  512- or 4096-byte sectors, little-endian). LabSolutions writes named streams
  such as ``LSS Raw Data``, ``PDA 3D Raw Data``, ``Chromatogram Parameters``,
  ``GUMM_Information``, ``Mass Raw Data``; GCMSsolution writes ``GCMS Raw Data``.
  Other programs (Office documents, some instrument software) use OLE2 too, so
  the sniffer reads the directory entries (a few small reads, no parsing of
  streams) and claims the file only when LabSolutions/GCMSsolution stream names
  are present.
- The stream contents are undocumented and differ between LabSolutions
  versions; fentid does not decode them. The supported route is to export from
  LabSolutions/GCMSsolution: MS data as mzML or AIA/ANDI netCDF (File > Export
  > AIA/ANDI, or the "Data Conversion" utility), then read that file.
  Our sample (formats/shimadzu_lcd/multichannel_chrom.lcd) holds LC detector
  chromatograms only (no MS scans), so there is nothing for MS identification.
- Sources: [MS-CFB] Compound File Binary format specification; chromConverter
  (R) read_shimadzu_lcd notes; the sample's stream list.
"""

from __future__ import annotations

import struct
from pathlib import Path

from fentid.drivers.registry import Driver, register
from fentid.errors import FormatError
from fentid.spectra.model import Dataset

NAME = "shimadzu"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Stream names only Shimadzu LabSolutions / GCMSsolution write.
SHIMADZU_STREAMS = ("LSS Raw Data", "GUMM_Information", "PDA 3D Raw Data", "GCMS Raw Data",
                    "LSS Data Processing")
_END_OF_CHAIN = 0xFFFFFFFE
#: Directory sectors followed at most (4 entries each at 512 bytes): the sniff stays cheap.
MAX_DIR_SECTORS = 32


def ole_streams(path: Path, head: bytes) -> list[tuple[str, int]]:
    """(name, size in bytes) of the directory entries of an OLE2 compound file.

    Empty when the file is not OLE2 or its header is unusable.

    Reads the header, the FAT sectors needed to follow the directory chain, and
    at most :data:`MAX_DIR_SECTORS` directory sectors.
    """
    if not head.startswith(OLE_MAGIC) or len(head) < 512:
        return []
    sector_shift = struct.unpack_from("<H", head, 30)[0]
    if sector_shift not in (9, 12):
        return []
    size = 1 << sector_shift
    first_dir = struct.unpack_from("<I", head, 48)[0]
    difat = struct.unpack_from("<109I", head, 76)
    names: list[tuple[str, int]] = []
    fat_cache: dict[int, tuple] = {}
    with open(path, "rb") as fh:
        def sector(n: int) -> bytes:
            fh.seek((n + 1) * size)
            return fh.read(size)

        def next_sector(n: int) -> int:
            per = size // 4
            idx = n // per
            if idx >= len(difat) or difat[idx] >= _END_OF_CHAIN:
                return _END_OF_CHAIN
            if idx not in fat_cache:
                fat_cache[idx] = struct.unpack(f"<{per}I", sector(difat[idx]).ljust(size, b"\0"))
            return fat_cache[idx][n % per]

        current = first_dir
        for _ in range(MAX_DIR_SECTORS):
            if current >= _END_OF_CHAIN:
                break
            data = sector(current)
            for off in range(0, len(data) - 127, 128):
                name_len = struct.unpack_from("<H", data, off + 64)[0]
                if 2 <= name_len <= 64:
                    name = data[off:off + name_len - 2].decode("utf-16-le", "replace")
                    names.append((name, struct.unpack_from("<Q", data, off + 120)[0]))
            current = next_sector(current)
    return names


def sniff(path: Path, head: bytes) -> bool:
    """OLE2 compound file whose directory has LabSolutions/GCMSsolution stream names."""
    if not head.startswith(OLE_MAGIC):
        return False
    try:
        streams = ole_streams(path, head)
    except (OSError, struct.error):
        return False
    return any(name in SHIMADZU_STREAMS for name, _ in streams)


def read(path: Path) -> Dataset:
    """Always raises: names the export route.

    Raises
    ------
    FormatError
        Naming the LabSolutions export to mzML or AIA/ANDI netCDF, and whether
        the file holds MS data at all.
    """
    streams = ole_streams(path, _head(path))
    # LabSolutions creates an (empty) "Mass Raw Data" stream even for LC-only runs
    has_ms = any(name in ("Mass Raw Data", "GCMS Raw Data") and size > 0
                 for name, size in streams)
    channels = {n for n, size in streams if n.startswith("Chromatogram Ch") and size > 0}
    what = "MS data" if has_ms else "no MS data"
    raise FormatError(
        f"Shimadzu LabSolutions file ({len(channels)} chromatogram channels, {what}) is not "
        "read directly: export it from LabSolutions/GCMSsolution as mzML or AIA/ANDI netCDF "
        "(File > Export, or the Data Conversion utility) and run fentid on the export", path)


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


register(Driver(NAME, sniff, read, "ms",
                "Shimadzu LabSolutions .lcd/.qgd (detected; export to mzML or AIA)",
                (".lcd", ".qgd")))
