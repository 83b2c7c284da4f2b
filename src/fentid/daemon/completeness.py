"""When is an acquisition finished?  Stable, complete for its format, and not locked.

Three tests, all cheap, all needed before a worker reads anything:

1. **Stable**: the fingerprint (every file's size and mtime) unchanged for the settle time.
2. **Complete for its format** (:func:`format_incomplete`):

   - Bruker experiment folder: ``acqus`` present and ``fid`` at least ``TD`` words long
     (``DTYPA`` 0: 4-byte integers, 2: 8-byte doubles), ``ser`` holding the ``TD`` of
     ``acqu2s`` rows (each padded to 256 words, 128 for doubles), and every processed
     ``pdata/*/1r`` / ``1i`` holding its ``SI`` points (processed-only data: at least one);
   - Agilent ``.D``: the run's end recorded (ChemStation ``.ms`` header, MassHunter
     ``AcqStatus``) and every scan the header counts present
     (:func:`fentid.drivers.agilent.run_incomplete`);
   - mzML / imzML / mzXML / nmrML: the closing root tag at the end;
   - JCAMP-DX: ``##END=`` at the end;
   - gzip: the stream decompresses to its end marker (then the inner format's check);
   - anything else: stability alone.

3. **Not locked by its writer** (:func:`locked`): on Windows a file opened by another
   program without read sharing (CreateFileW sharing violation); on Linux a ``flock`` /
   POSIX lock listed in ``/proc/locks``.  Elsewhere stability is the only sign.

The drivers repeat the format checks (they raise IncompleteDataError), so a file that
changes between this check and the read is still never reported on.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from fentid.daemon.discovery import Fingerprint
from fentid.errors import FentidError


class Stability:
    """How long each acquisition's fingerprint has stayed the same.

    Keys are whatever the caller uses for an acquisition; ``clock`` is in seconds.
    """

    def __init__(self):
        self._seen: dict = {}

    def observe(self, key, fp: Fingerprint, now: float) -> float:
        """Record ``fp`` at ``now``; seconds it has been unchanged (0 when it just changed)."""
        last = self._seen.get(key)
        if last is None or last[0] != fp.digest:
            self._seen[key] = (fp.digest, now)
            return 0.0
        return now - last[1]

    def forget(self, key) -> None:
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


# --- format checks ---------------------------------------------------------------------

_PARAM = re.compile(rb"^##\$(\w+)=\s*(\S+)", re.MULTILINE)


def _jcamp_params(path: Path) -> dict[str, str]:
    return {k.decode().upper(): v.decode(errors="replace")
            for k, v in _PARAM.findall(path.read_bytes())}


def _int(params: dict, key: str, where: Path) -> int:
    try:
        return int(float(params[key]))
    except (KeyError, ValueError):
        raise _Incomplete(f"{where.name} does not give {key} yet") from None


class _Incomplete(Exception):
    """Internal: why a check failed."""


def _bruker(path: Path) -> None:
    acqus = path / "acqus"
    if not acqus.is_file():
        raise _Incomplete("acqus not written yet")
    acq = _jcamp_params(acqus)
    word = 8 if acq.get("DTYPA", "0") == "2" else 4
    td = _int(acq, "TD", acqus)
    fid, ser = path / "fid", path / "ser"
    if ser.is_file():
        acqu2s = path / "acqu2s"
        if not acqu2s.is_file():
            raise _Incomplete("ser present but acqu2s not written yet")
        td1 = _int(_jcamp_params(acqu2s), "TD", acqu2s)
        row = -(-td // 256) * 256 if word == 4 else -(-td // 128) * 128
        rows = ser.stat().st_size // (row * word)
        if rows < td1:
            raise _Incomplete(f"ser holds {rows} of the {td1} FIDs acqu2s TD announces")
        return
    if fid.is_file():
        size = fid.stat().st_size
        if size < td * word:
            raise _Incomplete(f"fid has {size} bytes, TD={td} needs {td * word}")
    processed = _bruker_processed(path)
    if not fid.is_file() and not processed:
        raise _Incomplete("no fid, ser or processed 1r yet")


def _bruker_processed(path: Path) -> int:
    """Processed 1-D spectra (pdata/N/1r, 1i) present; raises when one is shorter than
    its procs SI says (TopSpin still processing, or a copy in progress)."""
    found = 0
    for procs in sorted(path.glob("pdata/*/procs")):
        for part in ("1r", "1i"):
            spectrum = procs.parent / part
            if not spectrum.is_file():
                continue
            proc = _jcamp_params(procs)
            si = _int(proc, "SI", procs)
            need = si * (8 if proc.get("DTYPP", "0") == "2" else 4)
            size = spectrum.stat().st_size
            if size < need:
                raise _Incomplete(f"pdata/{procs.parent.name}/{part} has {size} bytes, "
                                  f"SI={si} needs {need}")
            found += 1
    return found


def _agilent(path: Path) -> None:
    from fentid.drivers.agilent import run_incomplete

    reason = run_incomplete(path)
    if reason:
        raise _Incomplete(reason)


def _closing_tag(path: Path, *tags: str) -> None:
    from fentid.drivers._tail import ends_with_closing_tag

    if not ends_with_closing_tag(path, *tags):
        raise _Incomplete(f"no closing </{tags[0]}> tag yet")


def _jcamp(path: Path) -> None:
    from fentid.drivers._tail import file_tail

    if not re.search(rb"##END=[^\n]*\s*$", file_tail(path)[-1024:].rstrip() + b"\n"):
        raise _Incomplete("no ##END= at the end yet")


_XML_TAGS = {"mzml": ("mzML", "indexedmzML"), "imzml": ("mzML", "indexedmzML"),
             "mzxml": ("mzXML",), "nmrml": ("nmrML",)}


def _inner_kind(path: Path) -> str:
    from fentid.daemon.discovery import file_kind

    return file_kind(Path(path.name[:-3]))


def format_incomplete(path: Path, kind: str) -> str | None:
    """Why the acquisition is not complete for its format, or None when it is.

    Parameters
    ----------
    path : Path
        The acquisition (file or folder).
    kind : str
        Its kind from :mod:`fentid.daemon.discovery` (``bruker``, ``agilent``, ``mzml``...).
    """
    try:
        if kind == "bruker":
            _bruker(path)
        elif kind == "agilent":
            _agilent(path)
        elif kind in _XML_TAGS:
            _closing_tag(path, *_XML_TAGS[kind])
        elif kind == "jcamp":
            _jcamp(path)
        elif kind == "gzip":
            inner = _inner_kind(path)
            from fentid.drivers._tail import file_tail

            file_tail(path)  # decompresses to the end: raises when the stream is cut
            if inner in _XML_TAGS:
                _closing_tag(path, *_XML_TAGS[inner])
            elif inner == "jcamp":
                _jcamp(path)
    except _Incomplete as why:
        return str(why)
    except FentidError as exc:  # e.g. the gzip stream ends early
        return exc.message
    except OSError as exc:
        return f"cannot be read yet ({exc.strerror or exc})"
    return None


# --- locks -----------------------------------------------------------------------------

def _linux_locked_inodes() -> set[tuple[int, int, int]] | None:
    """(major, minor, inode) of every file with a lock in /proc/locks, None without it."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    out = set()
    for line in text.splitlines():
        for field in line.split():
            if field.count(":") == 2:
                major, minor, inode = field.split(":")
                try:
                    out.add((int(major, 16), int(minor, 16), int(inode)))
                except ValueError:
                    pass
                break
    return out


def _windows_in_use(path: Path) -> bool:
    """True when another program holds ``path`` open without sharing it (Windows)."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateFileW.restype = wintypes.HANDLE
    generic_read, open_existing, share_none = 0x80000000, 3, 0
    handle = kernel32.CreateFileW(str(path), generic_read, share_none, None, open_existing,
                                  0x80, None)
    if handle == wintypes.HANDLE(-1).value:
        return ctypes.get_last_error() in (32, 33)  # sharing / lock violation
    kernel32.CloseHandle(handle)
    return False


def locked(path: Path, files: list[tuple[str, os.stat_result]]) -> str | None:
    """The first file of the acquisition its writer holds locked, or None.

    Parameters
    ----------
    path : Path
        The acquisition.
    files : list
        Its files as :func:`fentid.daemon.discovery.files_of` lists them.
    """
    if sys.platform == "win32":
        for rel, _st in files:
            target = path / rel if rel else path
            if _windows_in_use(target):
                return rel or path.name
        return None
    if not sys.platform.startswith("linux"):
        return None
    held = _linux_locked_inodes()
    if not held:
        return None
    for rel, st in files:
        if (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held:
            return rel or path.name
    return None
