"""What the acquisitions in a watched folder are, and a cheap fingerprint of each.

An acquisition is what one ``fentid identify`` reads: a vendor folder (Bruker experiment
folder, Agilent ``.D``, VnmrJ ``.fid``, Spinsolve folder, Waters ``.raw``) or a single file
anywhere else.  Folders that are not acquisitions (dates, users, sample sets) are walked
into.  Files that belong to a vendor folder (``fid``, ``acqus``, ``procpar``, ``.ibd``...)
are never acquisitions of their own, so a folder caught half-copied is not split into
loose files.

The fingerprint is every file's relative path, size and mtime (ns): it changes whenever a
writer changes anything, costs one ``stat`` per file, and its digest is what the journal
keeps.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Names of files that only exist inside vendor folders (lower case).
FOLDER_MEMBERS = frozenset({
    "fid", "ser", "acqu", "acqus", "acqu2", "acqu2s", "acqu3s", "pulseprogram", "audita.txt",
    "uxnmr.par", "format.temp", "scon", "scon2", "shimvalues", "specpar", "precom.output",
    "procpar", "text", "log", "data.1d", "acqu.par", "spectrum.1d", "nmr_fid.dx",
    "spectrum_processed.1d", "proc", "procs", "1r", "1i", "2rr", "2ri", "2ir", "2ii",
    "runstart.txt", "acqmeth.txt", "checksum.xml", "tempbase", "contents.xml",
})
#: Suffixes of files that only exist inside vendor folders or beside another file.
MEMBER_SUFFIXES = (".ibd", ".ch", ".uv", ".reg", ".bin", ".dat", ".idx", ".inf",
                   ".sts", ".cd", ".cg")
#: Folder name suffixes that make a folder one acquisition whatever it holds yet.
ACQUISITION_SUFFIXES = {".d": "agilent", ".fid": "varian", ".raw": "waters"}


@dataclass(frozen=True)
class Fingerprint:
    """Sizes and mtimes of an acquisition's files.

    Attributes
    ----------
    size : int
        Total bytes.
    mtime : float
        Latest mtime (s since the epoch).
    files : int
        Number of files.
    digest : str
        SHA-1 of the sorted (relative path, size, mtime_ns) listing.
    """

    size: int
    mtime: float
    files: int
    digest: str


def _lower_names(path: Path) -> dict[str, Path]:
    try:
        return {e.name.lower(): Path(e.path) for e in os.scandir(path)}
    except OSError:
        return {}


def folder_kind(path: Path) -> str | None:
    """The kind of acquisition folder ``path`` is, or None (walk into it)."""
    suffix = path.suffix.lower()
    if suffix in ACQUISITION_SUFFIXES:
        return ACQUISITION_SUFFIXES[suffix]
    names = _lower_names(path)
    if "procpar" in names:
        return "varian"
    if "acqu.par" in names or "data.1d" in names:
        return "spinsolve"
    if {"acqus", "acqu", "fid", "ser"} & names.keys() or (
            "pdata" in names and "acqus" in names):
        return "bruker"
    if "data.ms" in names or "msd1.ms" in names or "acqdata" in names:
        return "agilent"
    if any(n.startswith("_func") and n.endswith(".dat") for n in names):
        return "waters"
    return None


def file_kind(path: Path) -> str:
    """Kind of a single-file acquisition, from its name (the completeness check's choice;
    the drivers sniff content)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gzip"
    suffix = Path(name).suffix
    return {".mzml": "mzml", ".mzxml": "mzxml", ".nmrml": "nmrml", ".imzml": "imzml",
            ".jdx": "jcamp", ".dx": "jcamp", ".jcamp": "jcamp", ".jcm": "jcamp"}.get(
        suffix, "file")


def ignored(name: str, patterns) -> bool:
    """True when ``name`` matches one of ``patterns`` (case-insensitive)."""
    low = name.lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


def is_member_file(path: Path) -> bool:
    """A file that belongs inside a vendor folder, not an acquisition of its own."""
    name = path.name.lower()
    return name in FOLDER_MEMBERS or name.endswith(MEMBER_SUFFIXES)


def walk(root: Path, patterns) -> Iterator[tuple[Path, str]]:
    """Every acquisition below ``root``: ``(path, kind)``.

    Unreadable sub-folders are skipped (the next rescan tries again).
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if ignored(entry.name, patterns):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                kind = folder_kind(path)
                if kind is None:
                    stack.append(path)
                else:
                    yield path, kind
            elif is_file and not is_member_file(path):
                yield path, file_kind(path)


def acquisition_of(path: Path, root: Path, patterns) -> tuple[Path, str] | None:
    """The acquisition a changed path belongs to (for a file-system event), or None.

    The outermost acquisition folder between ``root`` and ``path`` wins (``X.D/AcqData/..``
    belongs to ``X.D``); a file in no acquisition folder is its own acquisition.
    """
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    parts = rel.parts
    if not parts or any(ignored(p, patterns) for p in parts):
        return None
    current = root
    for part in parts[:-1]:
        current = current / part
        kind = folder_kind(current)
        if kind is not None:
            return current, kind
    if path.is_dir():
        kind = folder_kind(path)
        return (path, kind) if kind else None
    if is_member_file(path):
        return None
    return path, file_kind(path)


def files_of(path: Path) -> list[tuple[str, os.stat_result]]:
    """(relative posix path, stat) of every regular file of an acquisition, sorted.

    Raises
    ------
    FileNotFoundError
        The acquisition is gone.
    """
    if not path.is_dir():
        return [("", path.stat())]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except FileNotFoundError:
                continue
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            out.append((rel, st))
    if not path.exists():
        raise FileNotFoundError(str(path))
    out.sort(key=lambda item: item[0])
    return out


def fingerprint(path: Path) -> Fingerprint:
    """The acquisition's :class:`Fingerprint`.

    Raises
    ------
    FileNotFoundError
        The acquisition is gone.
    """
    listing = files_of(path)
    digest = hashlib.sha1(usedforsecurity=False)
    size, latest = 0, 0
    for rel, st in listing:
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        size += st.st_size
        latest = max(latest, st.st_mtime_ns)
    return Fingerprint(size=size, mtime=latest / 1e9, files=len(listing),
                       digest=digest.hexdigest())


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as a posix string (the journal's key)."""
    return path.relative_to(root).as_posix()
