"""Small durable-file helpers shared by the watch service's reports and the case archive."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """``fsync`` a folder, so a rename inside it survives a power cut (no-op on Windows,
    where folders cannot be opened for fsync)."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
