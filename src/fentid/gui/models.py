"""Qt table models over the case report and the library (data in, cells out; no logic)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from fentid.gui.style import DECISION_COLOURS, STATUS_COLOURS

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_SORT = Qt.ItemDataRole.UserRole
_ROOT = QModelIndex()


def conclusion_words(v) -> str:
    """A conclusion in a few words: ``identified: Cocaine``, ``isomer group: ...``."""
    if v.status == "isomer_group":
        return f"isomer group: {v.isomer_group}"
    if v.status == "no_match":
        return "no match"
    return f"{v.status}: {v.compound}"


def score_text(hit: dict) -> str:
    if hit.get("mf") is not None:
        return f"MF {hit['mf']:.0f} / RMF {hit['rmf']:.0f}"
    return f"{hit['score']:.3f}"


class _Table(QAbstractTableModel):
    HEADERS: tuple[str, ...] = ()

    def rowCount(self, parent=_ROOT):
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent=_ROOT):
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=_DISPLAY):
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def _rows(self) -> list:
        raise NotImplementedError


class ComponentModel(_Table):
    """One row per component: RT, name, conclusion, compound, best score, decision."""

    HEADERS = ("#", "RT (s)", "Component", "Conclusion", "Best hit", "Decision")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report = None
        self.decisions: dict[int, dict] = {}

    def _rows(self) -> list:
        return [] if self.report is None else self.report.components

    def set_report(self, report, decisions: dict[int, dict] | None = None) -> None:
        self.beginResetModel()
        self.report = report
        self.decisions = dict(decisions or {})
        self.endResetModel()

    def set_decision(self, row: int, line: dict) -> None:
        self.decisions[row] = line
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    def data(self, index, role=_DISPLAY):
        if not index.isValid():
            return None
        c = self.report.components[index.row()]
        col = index.column()
        decision = self.decisions.get(index.row())
        if role == _DISPLAY:
            if col == 0:
                return index.row() + 1
            if col == 1:
                return "" if c.retention_time_s is None else f"{c.retention_time_s:.2f}"
            if col == 2:
                return c.name
            if col == 3:
                return conclusion_words(c.conclusion)
            if col == 4:
                return score_text(c.hits[0]) + f"  {c.hits[0]['compound']}" if c.hits else ""
            if col == 5:
                return "" if decision is None else f"{decision['decision']} ({decision['analyst']})"
        if role == _FOREGROUND:
            if col == 3:
                return QBrush(QColor(STATUS_COLOURS.get(c.status, "#000000")))
            if col == 5 and decision is not None:
                return QBrush(QColor(DECISION_COLOURS[decision["decision"]]))
        if role == _TOOLTIP and col == 3:
            return c.conclusion.reason
        return None


class HitModel(_Table):
    """The hit list of one component."""

    HEADERS = ("Rank", "Compound", "Record name", "MF", "RMF", "Score", "Source", "Licence")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hits: list[dict] = []

    def _rows(self) -> list:
        return self.hits

    def set_hits(self, hits: list[dict]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def data(self, index, role=_DISPLAY):
        if not index.isValid():
            return None
        h = self.hits[index.row()]
        col = index.column()
        if role == _DISPLAY:
            if col == 0:
                return int(h["rank"])
            if col == 1:
                return h["compound"]
            if col == 2:
                return h.get("record_name") or ""
            if col == 3:
                return "" if h.get("mf") is None else f"{h['mf']:.0f}"
            if col == 4:
                return "" if h.get("rmf") is None else f"{h['rmf']:.0f}"
            if col == 5:
                return "" if h.get("score") is None else f"{h['score']:.4g}"
            if col == 6:
                src = h.get("source") or ""
                rec = h.get("source_record")
                return f"{Path(src).name}" + (f" #{rec}" if rec else "")
            if col == 7:
                return h.get("licence") or "not stated"
        if role == _TOOLTIP and col == 6:
            return h.get("source") or ""
        return None


LIBRARY_KEYS = ("entry_id", "technique", "compound", "record_name", "compound_class",
                "isomer_group", "source", "licence", "retired")


class LibraryModel(_Table):
    """Library entries (all techniques), for the curators' tab."""

    HEADERS = ("Entry", "Technique", "Compound", "Record name", "Class", "Isomer group",
               "Source", "Licence", "Retired")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[dict] = []

    def _rows(self) -> list:
        return self.entries

    def set_entries(self, entries: list[dict]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def data(self, index, role=_DISPLAY):
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        key = LIBRARY_KEYS[index.column()]
        value = e.get(key)
        # plain Python values only: PySide6 mishandles the reference counts of numpy
        # scalars handed to it (a crash at interpreter exit)
        if role == _SORT:
            return int(value) if key == "entry_id" else str(value or "")
        if role == _DISPLAY:
            if key == "source":
                rec = e.get("source_record")
                return Path(value or "").name + (f" #{rec}" if rec else "")
            if key == "retired":
                return "retired" if value else ""
            return int(value) if key == "entry_id" else str(value or "")
        if role == _TOOLTIP and key == "source":
            return value
        return None


class LibraryFilter(QSortFilterProxyModel):
    """Search text (compound, record name, InChIKey-free words), technique and class."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.technique = ""
        self.compound_class = ""
        self.setSortRole(_SORT)

    def set_filter(self, text: str = "", technique: str = "", compound_class: str = "") -> None:
        self.text, self.technique, self.compound_class = text.strip().lower(), technique, \
            compound_class
        self.invalidate()

    def filterAcceptsRow(self, row, parent):
        e = self.sourceModel().entries[row]
        if self.technique and e["technique"] != self.technique:
            return False
        if self.compound_class and e.get("compound_class") != self.compound_class:
            return False
        if self.text:
            hay = " ".join(str(e.get(k) or "") for k in ("compound", "record_name", "inchikey",
                                                         "isomer_group", "entry_id")).lower()
            return all(word in hay for word in self.text.split())
        return True
