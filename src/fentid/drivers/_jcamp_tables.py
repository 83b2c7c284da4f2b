"""JCAMP-DX tables to arrays: header records, XYDATA/PEAK TABLE/XYPOINTS, NTUPLES pages.

Shared by the NMR and MS halves of :mod:`fentid.drivers.jcampdx`; the
character-level decoding is in :mod:`fentid.drivers._jcamp_parse`.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from fentid.drivers._jcamp_parse import (
    Block,
    Ldr,
    decode_xyy,
    normalize_label,
    numbers,
    parse_float,
    parse_list,
)
from fentid.errors import CorruptDataError, DataQualityWarning

DATA_LABELS = ("XYDATA", "PEAKTABLE", "XYPOINTS")
STRUCTURE = {"TITLE", "END", "PAGE", "DATATABLE", "NTUPLES", "ENDNTUPLES", "ENDTUPLES",
              "BLOCKS", *DATA_LABELS}
MS_UNITS = ("M/Z", "MZ", "DALTON", "DALTONS", "AMU", "DA")


def header_records(block: Block) -> dict:
    """Standard records (not vendor ``$`` ones, not data) of the block and its parents."""
    chain = []
    b = block
    while b is not None:
        chain.append(b)
        b = b.parent
    out = {}
    for b in reversed(chain):  # LINK parent first, so the data block's own values win
        own = {}
        for ldr in b.ldrs:
            if ldr.label == "PAGE":
                break  # page records (NTUPLES) describe one page, not the file
            if ldr.label.startswith("$") or (ldr.label in STRUCTURE and ldr.label != "TITLE") \
                    or ldr.label.startswith("END"):
                continue
            own.setdefault(ldr.raw_label, ldr.text)
        out.update(own)
    return out


def vendor_records(block: Block) -> dict:
    """Vendor ``##$`` records, keyed without the ``$``."""
    out = {}
    b = block
    while b is not None:
        for ldr in b.ldrs:
            if ldr.label.startswith("$"):
                out.setdefault(ldr.raw_label[1:], ldr.text)
        b = b.parent
    return out


def vendor_float(vendor: dict, name: str) -> float | None:
    for key, value in vendor.items():
        if normalize_label(key) == normalize_label(name):
            return parse_float(value)
    return None


# ---------------------------------------------------------------------------
# data tables of one block

def data_ldr(block: Block) -> Ldr | None:
    for ldr in block.ldrs:
        if ldr.label in DATA_LABELS:
            return ldr
    return None


def split_form(ldr: Ldr) -> tuple[str, str, int]:
    """(form such as ``(X++(Y..Y))``, table text, first table line)."""
    form, _, body = ldr.value.partition("\n")
    return " ".join(form.split("$$")[0].split()).upper(), body, ldr.line + 1


def npoints_of(text: str | None) -> int | None:
    value = parse_float(text)
    return None if value is None else round(value)


def xyy_axis(ldr: Ldr, path, xfactor: float, yfactor: float,
             first: float | None, last: float | None, npoints: int | None,
             deltax: float | None):
    """Decode an ``(X++(Y..Y))`` table and build its abscissa.

    Parameters
    ----------
    ldr : Ldr
        The ``##XYDATA=`` or ``##DATA TABLE=`` record.
    xfactor, yfactor : float
        Multipliers from file numbers to real units.
    first, last : float or None
        Real abscissae of the first and last point (FIRSTX/LASTX, NTUPLES
        FIRST/LAST); preferred over ``deltax``, whose sign some writers get wrong.
    npoints : int or None
        Point count the header promises; a different count is an error
        (except Varian's off-by-one, see the driver's format notes).
    deltax : float or None
        Real abscissa step, used when FIRST/LAST are missing.

    Returns
    -------
    x, y : ndarray of float64, shape (n,)
        In file order (not sorted).
    encoding : str
    """
    _, body, line = split_form(ldr)
    step = None
    if first is not None and last is not None and npoints and npoints > 1:
        step = (last - first) / (npoints - 1)
    elif deltax:
        step = deltax
    table = decode_xyy(body, line, path, x_step=None if step is None else step / xfactor)
    n = table.y.size
    if npoints is not None and abs(n - npoints) == 1 and counts_agree(first, last, deltax, n):
        # Varian GEMINI writes NPOINTS one too high; FIRSTX, LASTX and DELTAX
        # agree with the data, so the header count is the odd one out.
        warnings.warn(f"{path}: NPOINTS={npoints} but FIRSTX, LASTX and DELTAX describe the "
                      f"{n} points in the table; using {n}", DataQualityWarning, stacklevel=4)
        npoints = n
    if npoints is not None and n != npoints:
        end = line + body.count("\n")
        raise CorruptDataError(
            f"line {end}: {n} points decoded but the header says {npoints} (data table "
            f"starting on line {line} is truncated or damaged)", path)
    if first is not None and last is not None and n > 1:
        x = first + np.arange(n) * ((last - first) / (n - 1))
    elif step is not None:
        x = table.line_x[0] * xfactor + np.arange(n) * step
    else:
        raise CorruptDataError(
            f"line {ldr.line}: no FIRSTX/LASTX or DELTAX to build the abscissa", path)
    return x, table.y * yfactor, table.encoding


def counts_agree(first, last, deltax, n: int) -> bool:
    if first is None or last is None or not deltax or n < 2:
        return False
    return abs(abs((last - first) / deltax) + 1 - n) < 0.01


def xy_table(ldr: Ldr, path, xfactor: float, yfactor: float,
              npoints: int | None):
    """Decode ``(XY..XY)`` or ``(XYW..XYW)`` pairs; returns x, y (file order)."""
    form, body, line = split_form(ldr)
    ncols = 3 if "XYW" in form.replace(" ", "") else 2
    values = numbers(body, path, line)
    if values.size % ncols:
        raise CorruptDataError(
            f"line {line}: {values.size} numbers in a {form} table, not a multiple of "
            f"{ncols} (truncated table?)", path)
    table = values.reshape(-1, ncols)
    if npoints is not None and table.shape[0] != npoints:
        raise CorruptDataError(
            f"line {line}: {table.shape[0]} points in the table but NPOINTS says {npoints}",
            path)
    return table[:, 0] * xfactor, table[:, 1] * yfactor, "AFFN"


def block_table(block: Block, path):
    """x, y (file order), encoding, data label of a non-NTUPLES block."""
    ldr = data_ldr(block)
    if ldr is None:
        raise CorruptDataError(
            f"block starting on line {block.start_line} has no data (##XYDATA=, "
            "##PEAK TABLE=, ##XYPOINTS= or ##NTUPLES=)", path)
    xfactor = parse_float(block.get("XFACTOR"), 1.0) or 1.0
    yfactor = parse_float(block.get("YFACTOR"), 1.0) or 1.0
    npoints = npoints_of(block.get("NPOINTS"))
    form, _, _ = split_form(ldr)
    if "++" in form:
        x, y, enc = xyy_axis(ldr, path, xfactor, yfactor,
                              parse_float(block.get("FIRSTX")), parse_float(block.get("LASTX")),
                              npoints, parse_float(block.get("DELTAX")))
    else:
        x, y, enc = xy_table(ldr, path, xfactor, yfactor, npoints)
    return x, y, enc, ldr.label


class Ntuples:
    """NTUPLES column attributes by symbol, and the pages."""

    def __init__(self, block: Block, path):
        names = ("VARNAME", "SYMBOL", "VARTYPE", "VARFORM", "VARDIM", "UNITS", "FIRST",
                 "LAST", "FACTOR")
        cols = {n: parse_list(block.get(n)) for n in names}
        symbols = [s.upper() for s in cols["SYMBOL"]]
        if not symbols or not symbols[0]:
            raise CorruptDataError(f"block starting on line {block.start_line}: NTUPLES "
                                   "without ##SYMBOL=", path)
        self.symbols = symbols

        def column(name, sym):
            values = cols[name]
            i = symbols.index(sym)
            return values[i] if i < len(values) and values[i] else None

        self.attr = {s: {n: column(n, s) for n in names} for s in symbols}
        self.pages: list[tuple[Ldr, list[Ldr]]] = []
        current = None
        for ldr in block.ldrs:
            if ldr.label == "PAGE":
                current = (ldr, [])
                self.pages.append(current)
            elif current is not None and not ldr.label.startswith("END"):
                current[1].append(ldr)
        if not self.pages:
            raise CorruptDataError(f"block starting on line {block.start_line}: NTUPLES "
                                   "without ##PAGE=", path)

    def number(self, sym: str, name: str, default=None):
        return parse_float(self.attr.get(sym, {}).get(name), default)

    def name(self, sym: str) -> str:
        return (self.attr.get(sym, {}).get("VARNAME") or "").upper()


PAGE_FORM = re.compile(r"\(\s*(\w)\s*\+\+\s*\(\s*(\w)\s*\.\.\s*\w\s*\)\s*\)")


def ntuple_page_xyy(nt: Ntuples, page: list[Ldr], path):
    """Decode one ``(X++(R..R))`` page: returns (dependent symbol, x, y, encoding)."""
    ldr = next((p for p in page if p.label == "DATATABLE"), None)
    if ldr is None:
        raise CorruptDataError("NTUPLES page without ##DATA TABLE=", path)
    form, _, _ = split_form(ldr)
    m = PAGE_FORM.search(form)
    if not m:
        raise CorruptDataError(f"line {ldr.line}: unsupported NTUPLES table form {form}", path)
    xs, ys = m.group(1).upper(), m.group(2).upper()
    if ys not in nt.attr or xs not in nt.attr:
        raise CorruptDataError(f"line {ldr.line}: table uses symbol {ys} not in ##SYMBOL=", path)
    page_npoints = npoints_of(next((p.text for p in page if p.label == "NPOINTS"), None))
    npoints = page_npoints or npoints_of(nt.attr[ys]["VARDIM"])
    x, y, enc = xyy_axis(ldr, path, nt.number(xs, "FACTOR", 1.0) or 1.0,
                          nt.number(ys, "FACTOR", 1.0) or 1.0, nt.number(xs, "FIRST"),
                          nt.number(xs, "LAST"), npoints, None)
    return ys, x, y, enc
