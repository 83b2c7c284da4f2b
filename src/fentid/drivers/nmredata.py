"""NMReDATA: SD files whose records carry assigned NMR data in ``NMREDATA_*`` tags.

Format notes
------------
Layout
    An SDF record (molfile, then ``> <TAG>`` data items, ``$$$$`` ends the record).
    NMReDATA 1.1 tags: ``NMREDATA_SOLVENT``, ``NMREDATA_SMILES``, ``NMREDATA_INCHI``,
    ``NMREDATA_TEMPERATURE`` (K), ``NMREDATA_ASSIGNMENT`` (``label, shift, atom...`` per
    line; CMC-se writes it as ``NMR_ASSIGNMENT``), ``NMREDATA_1D_<nucleus>`` (header lines
    ``Larmor=``, ``Spectrum_Location=``..., then one signal per line: ``shift`` or
    ``shift, S=<multiplicity>, N=<count>, L=<label>, J=...``).  Lines end with ``\\``.
Decisions
    * One :class:`PeakList` per ``NMREDATA_1D_1H``/``_13C``/``_19F`` tag; when a nucleus has
      no 1-D tag but the assignment lists its atoms (labels ``c...``/``h...``/``f...``,
      the CMC-se convention), the assigned shifts are that nucleus's list.  Equal shifts
      merge (intensity = count, or the sum of ``N=``).  2-D tags are skipped.
    * The molfile of the record is kept in ``metadata["molfile"]``; the library import
      derives the InChIKey from it (RDKit) and checks it against the SMILES.
    * ``Larmor=`` is the spectrometer frequency (MHz) of that list.

Sources
    NMReDATA format 1.1 (nmredata.org, Pupier et al., Magn. Reson. Chem. 2018, 56, 703);
    ``../shared/data/nmr/cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf``.
"""

from __future__ import annotations

import re
from pathlib import Path

from fentid.drivers._nmr_records import group_equal, number, peak_list
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, RecordProblem, hash_source

NAME = "nmredata"
_TAG = re.compile(r"^>\s*<([^>]+)>", re.MULTILINE)
_ONE_D = re.compile(r"^NMREDATA_1D_(1H|13C|19F)$")
_LABEL_NUCLEUS = {"c": "13C", "h": "1H", "f": "19F"}


def sniff(path: Path, head: bytes) -> bool:
    return b"> <NMREDATA_" in head or b">  <NMREDATA_" in head


def _items(block: str) -> tuple[str, dict[str, list[str]]]:
    """(molfile, {tag: lines}) of one SDF record."""
    marks = list(_TAG.finditer(block))
    molfile = block[:marks[0].start()] if marks else block
    tags = {}
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(block)
        body = block[m.end():end].strip("\n")
        tags[m.group(1).strip()] = [ln.rstrip().rstrip("\\").strip()
                                    for ln in body.splitlines() if ln.strip()]
    return molfile, tags


def _signals(lines: list[str]):
    """(shifts, counts, multiplicities, larmor MHz) of an NMREDATA_1D tag."""
    pos, count, mult, larmor = [], [], [], None
    for line in lines:
        if "=" in line.split(",")[0]:
            key, _, value = line.partition("=")
            if key.strip().lower() == "larmor":
                larmor = number(value)
            continue
        fields = [f.strip() for f in line.split(",")]
        shift = number(fields[0])
        if shift is None:
            continue
        attrs = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        pos.append(shift)
        count.append(number(attrs.get("N")) or 1.0)
        mult.append(attrs.get("S", ""))
    return pos, count, mult, larmor


def _assigned(lines: list[str], nucleus: str):
    pos = []
    for line in lines:
        fields = [f.strip() for f in line.split(",")]
        if len(fields) >= 2 and _LABEL_NUCLEUS.get(fields[0][:1].lower()) == nucleus:
            value = number(fields[1])
            if value is not None:
                pos.append(value)
    return pos


def read(path: Path) -> Dataset:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CorruptDataError(f"cannot read: {exc}", path) from None
    sha = hash_source(path)
    items, problems = [], []
    record = 0
    for block in [b for b in re.split(r"^\$\$\$\$\s*$", text, flags=re.MULTILINE)
                  if b.strip()]:
        molfile, tags = _items(block)
        base = {"smiles": (tags.get("NMREDATA_SMILES") or [None])[0],
                "inchi": (tags.get("NMREDATA_INCHI") or [None])[0],
                "solvent": (tags.get("NMREDATA_SOLVENT") or [None])[0],
                "temperature_k": number((tags.get("NMREDATA_TEMPERATURE") or [None])[0]),
                "name": (tags.get("NMREDATA_ID") or [None])[0],
                "molfile": molfile if "M  END" in molfile else None,
                "list_kind": "signals"}
        assignment = tags.get("NMREDATA_ASSIGNMENT") or tags.get("NMR_ASSIGNMENT") or []
        lists = {}
        for tag, lines in tags.items():
            m = _ONE_D.match(tag)
            if m:
                lists[m.group(1)] = _signals(lines)
        for nucleus in ("1H", "13C", "19F"):
            if nucleus not in lists:
                assigned = _assigned(assignment, nucleus)
                if assigned:
                    larmor = lists.get("1H", (None,) * 4)[3]
                    lists[nucleus] = (assigned, [1.0] * len(assigned), [""] * len(assigned),
                                      larmor * _GAMMA_RATIO[nucleus] if larmor else None)
        for nucleus in ("1H", "13C", "19F"):
            if nucleus not in lists:
                continue
            record += 1
            pos, count, mult, larmor = lists[nucleus]
            if not pos:
                problems.append(RecordProblem(record, f"no {nucleus} shifts", path.name))
                continue
            p, n, m = group_equal(pos, count, mult)
            meta = dict(base, spectrometer_frequency_mhz=larmor, multiplicity=m,
                        record_id=f"{path.name}#{nucleus}", source_rows=len(pos))
            items.append(peak_list(p, n, nucleus, meta, str(path), NAME, sha, record))
    if not items and not problems:
        raise CorruptDataError("no NMReDATA 1-D peak list or assignment in this SD file", path)
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=items,
                   problems=problems, sha256=sha, metadata={"records": len(items)})


#: Larmor frequency of a nucleus over that of 1H (a 13C list assigned on a 700 MHz magnet
#: is at 176 MHz).
_GAMMA_RATIO = {"1H": 1.0, "13C": 0.25145, "19F": 0.94094}

register(Driver(
    name=NAME, sniff=sniff, read=read, technique="nmr",
    description="NMReDATA SD file (assigned NMR peak lists)", extensions=(".sdf", ".nmredata"),
))
