"""Runs ``fentid`` with a fault injector at the report write layer, for machines where the
real faults cannot be made (no root or no mount for a full tmpfs / a read-only bind mount).

``python -m tests.daemon.fault_shim watch ...``: when ``$FENTID_TEST_FAULTS/enospc``
(or ``/eacces``) exists and holds a folder, every report write below that folder raises
``OSError(ENOSPC)`` (or ``EACCES``) from :func:`fentid.daemon.outputs.write_bytes`, the one
function that writes reports.  Without those flag files it changes nothing.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from fentid.daemon import outputs

_real_write = outputs.write_bytes
_FAULTS = {"enospc": errno.ENOSPC, "eacces": errno.EACCES}


def _write_bytes(path: Path, data: bytes) -> None:
    flags = os.environ.get("FENTID_TEST_FAULTS")
    if flags:
        for name, code in _FAULTS.items():
            flag = Path(flags) / name
            if flag.exists() and Path(flag.read_text().strip()) in Path(path).parents:
                raise OSError(code, os.strerror(code), str(path))
    _real_write(path, data)


outputs.write_bytes = _write_bytes

if __name__ == "__main__":
    from fentid.cli import main

    sys.exit(main(sys.argv[1:]))
