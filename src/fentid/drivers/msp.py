"""NIST MSP mass-spectral libraries (one or many spectra per file).

Format notes
------------
Layout
    Plain text, one record per compound spectrum.  A record starts with a
    ``Name:`` line, continues with ``Key: value`` header lines and a
    ``Num Peaks: n`` line, then the peaks, and ends at a blank line or at the
    next ``Name:`` line.  MS-DIAL and RIKEN exports write the header fields in
    any order (``INCHIKEY:`` first, ``NAME:`` in the middle); a file whose
    first field is not ``Name:`` is split at the end of each peak block
    instead (a header line after peaks, or after a blank line once the record
    has its ``Num Peaks``), and a record needs a ``Name:`` field somewhere in
    its header.  Keys are case-insensitive and writers spell them
    differently (``PrecursorMZ`` / ``PRECURSORMZ`` / ``Precursor_MZ``,
    ``Synon`` / ``Synonym``, ``Comment`` / ``Comments``); they are compared
    with case, spaces and underscores removed.
Peaks
    ``m/z intensity`` pairs, one or several per line, separated by any mix of
    spaces, tabs, commas, semicolons, colons, brackets and parentheses
    (NIST writes ``40 1; 41 30; 42 116;``, SWGDRUG and MS-DIAL one tab-
    separated pair per line, AMDIS ``(40 1) (41 30)``).  A peak may carry an
    annotation in double quotes after its intensity (RECETOX, NIST MS/MS);
    annotations are dropped.
Vendor quirks handled
    * ``CAS#: 90736-13-3;  NIST#: 379893`` -- several fields on one line.
    * ``CAS#: 481298`` -- NIST stores CAS numbers without dashes; they are
      re-dashed when the check digit agrees, otherwise kept verbatim.
      ``CASNO: 0`` means "none".
    * ``Synon: $:00in-source`` -- NIST MS/MS libraries hide typed fields in
      synonyms (``$:NN`` code + value).  They are kept under
      ``metadata["nist_tags"]`` and not listed as synonyms; the well-known
      codes (00 MS stage, 03 precursor type, 05 collision energy, 06
      instrument type, 07 instrument, 10 ionisation, 11 polarity, 28
      InChIKey) fill fields the record does not state otherwise.
    * ``Comments: "license=CC BY" "SMILES=..."`` -- MoNA/MassBank exports put
      ``key=value`` pairs in quotes (or bare, ``Parent=428.31``) in the
      comment; they are parsed into ``metadata["comment_fields"]`` and fill
      ``licence``, ``smiles``, ``inchikey``, ``accession``... when absent.
    * ``PrecursorMZ: 0`` (MoNA GC-MS exports) means "no precursor".
    * ``Retention_index: SemiStdNP=2528/2/2`` -- the first number is the
      index, the rest (count, deviation) is kept verbatim.
    * Files are UTF-8; a file that is not valid UTF-8 is decoded as latin-1
      (old NIST and AMDIS exports) and ``metadata["encoding"]`` says so.
    * Lines starting with ``#`` are comments anywhere in the file.
Decisions
    * ``Num Peaks`` is not trusted: the peaks that are there are read.  A
      missing or wrong count puts a note in the record's ``metadata["notes"]``
      and raises one :class:`~fentid.errors.DataQualityWarning` per file.
    * Duplicate m/z values in one record are merged by summing their
      intensities (the ion current at that m/z), with a note.
    * A record that cannot be used (no peaks, a token that is not a number,
      an odd number of values, negative or non-finite values, text without a
      ``Name:`` line) becomes a :class:`~fentid.spectra.model.RecordProblem`
      with its 1-based record number and the reason; the other records are
      read.  Record numbers count every record-like block in file order,
      including the bad ones, so they match what a person counts.
    * ``ionization`` is only set when the file says it (an ionisation field,
      an instrument type such as ``GC-EI-TOF``, a comment, a ``$:10`` tag);
      a SWGDRUG record, which says nothing, has ``ionization=None``.
      ``ms_level`` is what the file says, else 1 for EI, else 2 when a
      precursor m/z is given, else 1.  For EI records a "collision energy"
      (RECETOX writes ``70eV``) is the electron energy and goes to
      ``electron_energy_ev``.  An MS1 spectrum has no precursor: a stated
      one (RECETOX's GC-EI molecular ion) moves to ``stated_precursor_mz``.
    * A folder holding only ``.msp`` files (the NIST classifier's
      ``ExampleQuerySpectra`` tree) is read file by file in sorted order;
      each spectrum's ``provenance.source`` is its own file.
    * ``fentid info`` lists the bad records and exits 2 when there are any
      (the good ones are still described), so scripts notice.  A file none
      of whose records can be read raises :class:`~fentid.errors.NoSpectraError`
      (carrying the Dataset with its problems, which ``fentid info`` shows),
      so processing it is an error, not an empty result.

Sources
    NIST MS Search manual (MSP section); NIST lib2nist documentation of the
    ``$:NN`` synonym tags; matchms ``load_from_msp`` test files; SWGDRUG 3.9
    and 3.4 MSP conversions by NIST (asm3-nist on GitHub).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._libtext import (
    MSP_METADATA_KEYS,
    decode_text,
    msp_metadata,
    parse_unsigned_many,
)
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning, NoSpectraError
from fentid.spectra.model import Dataset, Provenance, RecordProblem, Spectrum, hash_source

NAME = "msp"
#: Keys every spectrum's metadata has (None when the record does not say).
METADATA_KEYS = MSP_METADATA_KEYS

#: A line starting a record: ``Name:`` in any case, optionally indented.
_NAME_LINE = re.compile(r"^[ \t]*name[ \t]*:", re.IGNORECASE | re.MULTILINE)
_NAME_LOWER = re.compile(r"[ \t]*name[ \t]*:")
#: A header line: a key starting with a letter or ``$``, then a colon.
_HEADER = re.compile(r"^\s*([A-Za-z$][A-Za-z0-9_#$ /.()\-]*?)\s*:\s*(.*?)\s*$")
#: The text before the colon of a header line.
_KEY_TEXT = re.compile(r"\s*[A-Za-z$][A-Za-z0-9_#$ /.()\-]*")
#: Cache: raw key text -> normalised key.
_KEYS: dict[str, str] = {}
#: First line of a peak block: starts with a digit, bracket, parenthesis or decimal point.
_PEAK_START = re.compile(r"^[ \t]*[\d(\[.]", re.MULTILINE)
#: A quoted peak annotation (an unterminated one runs to the end of its line).
_QUOTED = re.compile(r'"[^"\n]*"?')
#: Separators allowed between peak numbers become spaces.
_PEAK_SEPARATORS = str.maketrans({c: " " for c in "\t,;:()[]{}"})
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

#: Files a folder sniff looks at (all must be .msp, the first must sniff as MSP).
_FOLDER_SNIFF_FILES = 200


# --- sniffing --------------------------------------------------------------------------------

def sniff(path: Path, head: bytes) -> bool:
    """True when the first record's header has ``Name:`` and ``Num Peaks`` lines.

    The first non-comment line is ``Name:`` (NIST) or another ``Key: value``
    field (MS-DIAL/RIKEN field order: then ``Name:`` and ``Num Peaks`` must
    both come before the first peak line).

    Parameters
    ----------
    path : Path
        Unused: MSP files have no reliable extension.
    head : bytes
        The first bytes of the file (``b""`` for a folder).
    """
    if path.is_dir():
        return _sniff_folder(path)
    if not head or b"\0" in head[:1024]:
        return False
    lines = head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf").splitlines()
    content = [i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not content:
        return False
    if not _NAME_LINE.match(lines[content[0]]):
        return _sniff_free_order(lines[content[0]:])
    rest = lines[content[0] + 1:]
    for line in rest:
        key = _norm_key(line.split(":", 1)[0]) if ":" in line else ""
        if key == "numpeaks":
            return True
        if key == "name":
            return False
    # a header longer than the head (long MoNA comments): claim it only if the
    # head held nothing but header lines
    return len(head) >= 4096 and all(
        _HEADER.match(ln) or not ln.strip() or ln.lstrip().startswith("#") for ln in rest[:-1])


def _sniff_free_order(lines: list[str]) -> bool:
    """A first record whose header fields come in any order (MS-DIAL, RIKEN)."""
    keys = set()
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _PEAK_START.match(line):
            return "name" in keys and "numpeaks" in keys
        key, colon, _ = line.partition(":")
        if not colon or not _KEY_TEXT.fullmatch(key):
            return False
        keys.add(_norm_key(key))
    return False


def _folder_files(path: Path, limit: int | None = None) -> list[Path]:
    """Regular, non-hidden files below ``path``: all, sorted; or the first ``limit`` found."""
    found = []
    for p in path.rglob("*"):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts):
            found.append(p)
            if limit is not None and len(found) >= limit:
                return found  # sniffing: cheap, order does not matter
    return sorted(found)


def _sniff_folder(path: Path) -> bool:
    """A folder of MSP files only (the NIST classifier's ExampleQuerySpectra tree)."""
    files = _folder_files(path, limit=_FOLDER_SNIFF_FILES)
    if not files or any(p.suffix.lower() != ".msp" for p in files):
        return False
    first = min(files)
    with open(first, "rb") as fh:
        return sniff(first, fh.read(8192))


def _norm_key(key: str) -> str:
    return key.strip().lower().replace(" ", "").replace("_", "").replace("#", "no")


# --- reading ---------------------------------------------------------------------------------

def read(path: Path) -> Dataset:
    """Read every record of an MSP file.

    Parameters
    ----------
    path : Path
        The MSP file.

    Returns
    -------
    Dataset
        One centroided :class:`Spectrum` (m/z ascending, unit ``"m/z"``) per
        good record, with ``provenance.record`` its 1-based record number and
        the keys in :data:`METADATA_KEYS`; ``problems`` for the bad records;
        ``metadata`` with ``n_records`` and ``encoding``.

    Raises
    ------
    CorruptDataError
        When the file holds no record at all.

    Notes
    -----
    A folder of MSP files is read file by file in sorted path order; each
    spectrum's provenance names its own file and record, and problems name
    the file (relative to the folder) before the record's name.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()  # == hash_source(path), without a second read
    text, encoding = decode_text(raw)
    free_order = is_free_order(text)
    blocks = split_free_order(text) if free_order else split_records(text)
    headers = [parse_header(block.text, free_order) for block in blocks]
    peak_texts = [h[1] if isinstance(h, tuple) else "" for h in headers]
    fast = parse_unsigned_many([_clean_peak_text(t) for t in peak_texts])
    items, problems, noted = [], [], []
    line_of = _LineNumbers(text)
    for number, (block, header, peak_text, values) in enumerate(
            zip(blocks, headers, peak_texts, fast), start=1):
        if isinstance(header, str):
            problems.append(_problem(number, block, line_of, header))
            continue
        peaks = parse_peaks(peak_text) if values is None or values.size % 2 else _pairs(values)
        if isinstance(peaks, str):
            if not peaks.startswith("no peaks"):  # point at the bad line in the file
                start = block.offset + len(block.text) - len(peak_text)
                peaks = _locate_bad_peak(peak_text, line_of(start)) or peaks
            problems.append(_problem(number, block, line_of, peaks))
            continue
        mz, inten, meta = _finish(*peaks, header[0])
        if "notes" in meta:
            noted.append(number)
        prov = Provenance(source=str(path), driver=NAME, sha256=sha, record=number)
        items.append(Spectrum(mz, inten, unit="m/z", technique="ms", centroided=True,
                              metadata=meta, provenance=prov))
    if not blocks:
        raise CorruptDataError("no MSP record (a 'Name:' line) found", path)
    if not items:
        _raise_nothing_readable(path, blocks, problems, sha, encoding)
    if noted:
        shown = ", ".join(map(str, noted[:10])) + (" ..." if len(noted) > 10 else "")
        warnings.warn(f"{path}: {len(noted)} record(s) with a missing or wrong 'Num Peaks' or "
                      f"duplicate m/z (records {shown}); see metadata['notes']",
                      DataQualityWarning, stacklevel=2)
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(items),
                   problems=tuple(problems), sha256=sha,
                   metadata={"n_records": len(blocks), "n_problems": len(problems),
                             "encoding": encoding})


def _raise_nothing_readable(path, blocks, problems, sha, encoding) -> None:
    """Every record is bad: an error for processing, the problems for ``fentid info``."""
    ds = Dataset(path=str(path), driver=NAME, technique="ms", items=(),
                 problems=tuple(problems), sha256=sha,
                 metadata={"n_records": len(blocks), "n_problems": len(problems),
                           "encoding": encoding})
    first = f"; {problems[0]}" if problems else ""
    raise NoSpectraError(f"none of the {len(blocks)} MSP record(s) can be read{first}", path,
                         dataset=ds)


def _read_folder(path: Path) -> Dataset:
    files = _folder_files(path)
    if not files:
        raise CorruptDataError("folder holds no MSP file", path)
    items, problems = [], []
    for file in files:
        if file.suffix.lower() != ".msp":
            raise CorruptDataError(f"{file.relative_to(path)} is not an .msp file; pass the "
                                   "MSP files themselves", path)
        try:
            ds = read(file)
        except NoSpectraError as exc:
            ds = exc.dataset  # its bad records are listed below
        except CorruptDataError as exc:
            problems.append(RecordProblem(1, exc.message, str(file.relative_to(path))))
            continue
        items.extend(ds.items)
        rel = file.relative_to(path)
        problems.extend(RecordProblem(p.record, p.reason, f"{rel}: {p.name}" if p.name else str(rel))
                        for p in ds.problems)
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(items),
                   problems=tuple(problems), sha256=hash_source(path),
                   metadata={"n_files": len(files), "n_problems": len(problems)})


def _problem(number: int, block: _Block, line_of: _LineNumbers, reason: str) -> RecordProblem:
    return RecordProblem(number, f"{reason} (record starts at line {line_of(block.offset)})",
                         block.name)


class _LineNumbers:
    """1-based line number of a character offset; the newline index is built on first use."""

    def __init__(self, text: str):
        self.text = text
        self.newlines: list[int] | None = None

    def __call__(self, offset: int) -> int:
        if self.newlines is None:
            self.newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self.newlines, offset) + 1


class _Block:
    """Text of one record-like block, its character offset in the file and its name."""

    __slots__ = ("name", "offset", "text")

    def __init__(self, text: str, offset: int, free_order: bool = False):
        self.text = text
        self.offset = offset
        end = text.find("\n")
        first = text if end < 0 else text[:end]
        if _NAME_LINE.match(first):
            self.name = first.split(":", 1)[1].strip() or None
        elif free_order:
            peak = _PEAK_START.search(text)
            line = _NAME_FIELD.search(text, 0, len(text) if peak is None else peak.start())
            self.name = line.group(1).strip() or None if line else None
        else:
            self.name = None


#: A ``Name:`` field anywhere in a header (free field order), capturing its value.
_NAME_FIELD = re.compile(r"^[ \t]*name[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE)


def is_free_order(text: str) -> bool:
    """True when the first content line is a header field other than ``Name:``."""
    for line in text.split("\n", 200)[:200]:
        if line.strip() and not line.lstrip().startswith("#"):
            return not _NAME_LINE.match(line) and _HEADER.match(line) is not None
    return False


def split_free_order(text: str) -> list[_Block]:
    """Cut a file whose header fields come in any order into record-like blocks.

    A record ends where its peaks end: a header (or any non-peak) line after
    peak lines, or after a blank line once the record has a ``Num Peaks``
    line, starts the next one; a paragraph of peaks after a blank line that
    follows peaks is a block of its own (reported, never dropped).
    """
    blocks, start = [], None
    seen_peaks = seen_count = after_blank = False
    offset = 0
    for line in text.split("\n"):
        here, offset = offset, offset + len(line) + 1
        stripped = line.strip()
        if not stripped:
            after_blank = True
            continue
        if stripped.startswith("#"):
            continue
        is_peak = _PEAK_START.match(line) is not None
        new = start is None or (seen_peaks and (after_blank or not is_peak)) or (
            after_blank and seen_count and not is_peak)
        if new:
            if start is not None:
                blocks.append(_Block(text[start:here].rstrip("\n"), start, free_order=True))
            start, seen_peaks, seen_count = here, False, False
        after_blank = False
        if is_peak:
            seen_peaks = True
        elif _norm_key(line.split(":", 1)[0]) == "numpeaks":
            seen_count = True
    if start is not None:
        blocks.append(_Block(text[start:].rstrip("\n"), start, free_order=True))
    return blocks


def split_records(text: str) -> list[_Block]:
    """Cut the file into record-like blocks, in file order.

    A block starts at a ``Name:`` line.  Text before the first ``Name:``, and
    text separated from a record's peaks by a blank line, become blocks of
    their own (reported as problems, never dropped).  Blank lines between a
    header and its peaks are allowed.
    """
    starts = _name_lines(text)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    blocks = []
    for lo, hi in zip(starts, [*starts[1:], len(text)]):
        chunk = text[lo:hi]
        blank = chunk.find("\n\n")
        # most records end at their only blank line: no need to look further
        pieces = ([(0, chunk)] if blank < 0 or chunk[blank:].isspace()
                  else _split_trailing(chunk))
        blocks.extend(_Block(p, lo + off) for off, p in pieces if _has_content(p))
    return blocks


def _name_lines(text: str) -> list[int]:
    """Offsets of the ``Name:`` lines (any case, optionally indented), in order.

    A case-insensitive regex over a whole library is slow; finding "name" in
    a lower-cased copy and checking each hit is several times faster.
    """
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters lower-case to two characters
        return [m.start() for m in _NAME_LINE.finditer(text)]
    found, i = [], low.find("name")
    while i >= 0:
        line = low.rfind("\n", 0, i) + 1
        if (line == i or low[line:i].isspace()) and _NAME_LOWER.match(low, line):
            found.append(line)
        i = low.find("name", i + 4)
    return found


def _split_trailing(chunk: str) -> list[tuple[int, str]]:
    """Split off paragraphs that do not continue the record before them.

    After a blank line, a paragraph continues the record only while no peaks
    have been seen and its first line is a ``Key: value`` or peak line;
    anything else starts a block of its own.
    """
    pieces, start, offset, seen_peaks = [], 0, 0, False
    for para in chunk.split("\n\n"):
        if offset and _has_content(para) and (seen_peaks or not _continues(para)):
            pieces.append((start, chunk[start:offset]))
            start, seen_peaks = offset, False
        seen_peaks = seen_peaks or _PEAK_START.search(para) is not None
        offset += len(para) + 2
    pieces.append((start, chunk[start:]))
    return pieces


def _continues(para: str) -> bool:
    """True when a paragraph's first content line is a header or peak line."""
    first = next(ln for ln in para.split("\n") if ln.strip() and not ln.lstrip().startswith("#"))
    key, colon, _ = first.partition(":")
    return bool(_PEAK_START.match(first)) or bool(colon and _KEY_TEXT.fullmatch(key))


def _has_content(text: str) -> bool:
    """True when the text has a line that is neither blank nor a ``#`` comment."""
    head = text.lstrip()
    if not head:
        return False
    if "#" not in text or head[0] != "#":
        return True
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in text.split("\n"))


def parse_header(text: str, free_order: bool = False) -> tuple[dict, str] | str:
    """Split a record into its metadata and its peak text.

    ``free_order``: the ``Name:`` field may be anywhere in the header (MS-DIAL).

    Returns
    -------
    (dict, str) or str
        The metadata (see :data:`METADATA_KEYS`) and the raw peak block, or
        the reason the record cannot be used.
    """
    first_peak = _PEAK_START.search(text)
    header = text if first_peak is None else text[:first_peak.start()]
    if not _NAME_LINE.match(text) and not (free_order and _NAME_FIELD.search(header)):
        return "text without a 'Name:' line (not an MSP record)"
    fields: list[tuple[str, str, str]] = []
    for line in header.split("\n"):
        key, colon, value = line.partition(":")
        norm = _KEYS.get(key)
        if norm is None:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            norm = _key_of(key) if colon else None
            if norm is None:
                return f"line {stripped[:60]!r} is neither 'Key: value' nor a peak"
        value = value.strip()
        if norm in ("casno", "nistno") and ";" in value:
            fields.extend(_split_multi_field(key.strip(), norm, value))
        else:
            fields.append((key.strip(), norm, value))
    return msp_metadata(fields), "" if first_peak is None else text[first_peak.start():]


def _key_of(key: str) -> str | None:
    """Normalised form of a header key (cached), or None when it is not a key."""
    if not _KEY_TEXT.fullmatch(key):
        return None
    norm = key.strip().lower().replace(" ", "").replace("_", "").replace("#", "no")
    if len(_KEYS) < 10_000:  # keys repeat; a garbage file must not grow the cache forever
        _KEYS[key] = norm
    return norm


def _split_multi_field(key: str, norm: str, value: str) -> list[tuple[str, str, str]]:
    """``CAS#: 90736-13-3;  NIST#: 379893`` -> two fields (NIST writes both on one line)."""
    out = [(key, norm, value.split(";", 1)[0].strip())]
    for part in value.split(";")[1:]:
        if ":" in part:
            k, v = part.split(":", 1)
            out.append((k.strip(), _norm_key(k), v.strip()))
    return out


# --- peaks -----------------------------------------------------------------------------------

def _clean_peak_text(text: str) -> str:
    """Peak block -> numbers separated by whitespace (comments and annotations removed)."""
    if "#" in text:
        text = "\n".join(ln for ln in text.split("\n") if not ln.lstrip().startswith("#"))
    if '"' in text:
        text = _QUOTED.sub(" ", text)
    return text.translate(_PEAK_SEPARATORS)


def parse_peaks(text: str) -> tuple[np.ndarray, np.ndarray] | str:
    """Parse a peak block with the general (slower) path.

    Parameters
    ----------
    text : str
        The record's lines from its first peak on.

    Returns
    -------
    (mz, intensity) or str
        Arrays in file order, or the reason they cannot be read, naming the
        first bad line.
    """
    tokens = _clean_peak_text(text).split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        return _locate_bad_peak(text) or "a peak value is not a number"
    if values.size % 2:
        return _locate_bad_peak(text)
    return _pairs(values)


def _pairs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    if values.size == 0:
        return "no peaks"
    if values.size % 2:
        return f"odd number of peak values ({values.size}): an m/z without intensity"
    mz, inten = values[0::2], values[1::2]
    if not (np.isfinite(mz).all() and np.isfinite(inten).all()):
        return "peak values must be finite (found nan or inf)"
    if (mz <= 0).any():
        return f"m/z must be positive (found {mz[mz <= 0][0]:g})"
    if (inten < 0).any():
        return f"intensity must not be negative (found {inten[inten < 0][0]:g})"
    return mz, inten


def _locate_bad_peak(text: str, first_line: int = 1) -> str:
    """Name the first peak line that does not hold whole ``m/z intensity`` pairs.

    ``first_line`` is the line number of the peak block's first line, so the
    message points into the file.
    """
    total, last = 0, None
    for number, line in enumerate(text.split("\n"), start=first_line):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = _clean_peak_text(line).split()
        bad = next((t for t in tokens if not _NUMBER.fullmatch(t)), None)
        if bad is not None:
            return f"line {number} {line.strip()[:60]!r}: {bad!r} is not a number"
        total, last = total + len(tokens), (number, line.strip()[:60])
    if total % 2 == 0:
        return ""  # every token is a number and they pair up: the caller's reason stands
    where = f" (last peak line {last[0]} {last[1]!r}; file truncated?)" if last else ""
    return f"odd number of peak values ({total}): an m/z without intensity{where}"


def _finish(mz: np.ndarray, inten: np.ndarray, meta: dict):
    """Sort by m/z, merge duplicates and note disagreements with ``Num Peaks``."""
    notes = list(meta.pop("notes", ()))
    if not meta.get("name"):
        notes.append("the 'Name:' line is empty")
    declared = meta.get("num_peaks_declared")
    if declared is None:
        notes.append(f"no usable 'Num Peaks' line; {mz.size} peaks read")
    elif declared != mz.size:
        notes.append(f"'Num Peaks: {declared}' but {mz.size} peaks read")
    if mz.size > 1 and (mz[1:] <= mz[:-1]).any():
        order = np.argsort(mz, kind="stable")
        mz, inten = mz[order], inten[order]
        if (mz[1:] == mz[:-1]).any():
            uniq, index = np.unique(mz, return_inverse=True)
            summed = np.zeros(uniq.size)
            np.add.at(summed, index, inten)
            notes.append(f"{mz.size - uniq.size} duplicate m/z value(s) merged by summing "
                         "their intensities")
            mz, inten = uniq, summed
    if notes:
        meta["notes"] = tuple(notes)
    return mz, inten, meta


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="ms",
    description="NIST MSP mass-spectral library (text, one or many spectra per file)",
    extensions=(".msp",),
))
