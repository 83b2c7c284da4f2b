"""The curators' tab: browse and search library entries, see an entry's spectrum and
provenance, add a spectrum from a file, retire or reassign an entry with a reason.

Every change goes through :mod:`fentid.curation` / :func:`fentid.reference_library.edit`
(atomic replace, audited, one writer at a time); the tab never writes the file itself.
Validation messages (rejections with their reason, flags on accepted spectra) are shown
in the message box as ``fentid library add`` prints them.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fentid.errors import FentidError, one_line
from fentid.gui import style
from fentid.gui.models import LibraryFilter, LibraryModel
from fentid.gui.plots import sticks


class LibraryTab(QWidget):
    """Browse and curate one library file.  ``library_changed()`` after every change."""

    library_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = None
        self.interactive = True
        self.model = LibraryModel(self)
        self.proxy = LibraryFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search compound, record name, InChIKey, group...")
        self.technique = QComboBox()
        self.compound_class = QComboBox()
        self.count = QLabel()
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.details = QTextBrowser()
        self.messages = QPlainTextEdit()
        self.messages.setReadOnly(True)
        self.messages.setMaximumHeight(90)
        self.add_button = QPushButton("Add spectrum from file...")
        self.retire_button = QPushButton("Retire entry...")
        self.reassign_button = QPushButton("Reassign entry...")
        self._layout()
        self.search.textChanged.connect(self._filter)
        self.technique.currentTextChanged.connect(self._filter)
        self.compound_class.currentTextChanged.connect(self._filter)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.add_button.clicked.connect(self._add_dialog)
        self.retire_button.clicked.connect(self._retire_dialog)
        self.reassign_button.clicked.connect(self._reassign_dialog)

    def _layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        filters.addWidget(QLabel("Technique:"))
        filters.addWidget(self.technique, 1)
        filters.addWidget(QLabel("Class:"))
        filters.addWidget(self.compound_class, 1)
        filters.addWidget(self.count)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(filters)
        lv.addWidget(self.table)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.retire_button, self.reassign_button):
            buttons.addWidget(b)
        lv.addLayout(buttons)
        lv.addWidget(self.messages)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(self.details)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([700, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # --- loading ------------------------------------------------------------------------
    def set_library(self, path) -> None:
        """Show the entries of the library file ``path`` (re-read after every change)."""
        from fentid.reference_library import Library

        self.path = str(path)
        with Library.open(self.path) as lib:
            entries = lib.entries()
            version = lib.library_version
        self.model.set_entries(entries)
        current_t, current_c = self.technique.currentText(), self.compound_class.currentText()
        for combo, values, current in (
                (self.technique, sorted({e["technique"] for e in entries}), current_t),
                (self.compound_class, sorted({e["compound_class"] for e in entries
                                              if e["compound_class"]}), current_c)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(["all", *values])
            if current in values:
                combo.setCurrentText(current)
            combo.blockSignals(False)
        self.version = version
        self._filter()

    def _filter(self) -> None:
        t = self.technique.currentText()
        c = self.compound_class.currentText()
        self.proxy.set_filter(self.search.text(), "" if t in ("", "all") else t,
                              "" if c in ("", "all") else c)
        self.count.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()} entries "
                           f"(library version {getattr(self, 'version', '?')})")

    def visible_entries(self) -> list[dict]:
        """Entries the filters let through, in table order."""
        return [self.model.entries[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def select_entry(self, entry_id: int) -> bool:
        for r in range(self.proxy.rowCount()):
            src = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            if self.model.entries[src]["entry_id"] == entry_id:
                self.table.selectRow(r)
                self.show_entry(self.model.entries[src])
                return True
        return False

    def _row_changed(self, current, _previous) -> None:
        if current.isValid():
            self.show_entry(self.model.entries[self.proxy.mapToSource(current).row()])

    # --- one entry ----------------------------------------------------------------------
    def show_entry(self, entry: dict) -> None:
        """Plot the entry's spectrum (stored profile, else its peaks) and its provenance."""
        from fentid.reference_library import Library

        with Library.open(self.path) as lib:
            peaks = lib.entry_peaklist(entry["entry_id"])
            profile = lib.profile(entry["entry_id"])
            compound = lib.compound_row(entry["compound_id"])
            audit = [a for a in lib.audit() if a["entry_id"] == entry["entry_id"]]
        self.current = entry
        self.plot.clear()
        nmr = entry["technique"].startswith("nmr")
        self.plot.getViewBox().invertX(nmr)
        pos, inten = np.asarray(peaks.position), np.asarray(peaks.intensity, float)
        top = inten.max() if inten.size and inten.max() > 0 else 1.0
        if profile is not None:
            ax, y = np.asarray(profile[0], float), np.asarray(profile[1], float)
            line = self.plot.plot(ax, y / max(np.abs(y).max(), 1e-300) * 100,
                                  pen=pg.mkPen(style.NMR_LINE))
            line.setDownsampling(auto=True, method="peak")
            line.setClipToView(True)
        sx, sy = sticks(pos, inten / top * 100)
        self.plot.plot(sx, sy, connect="pairs", pen=pg.mkPen("#e31a1c" if nmr else style.TIC,
                                                             width=1.3))
        self.plot.setLabel("bottom", "ppm" if nmr else "m/z")
        self.plot.setTitle(f"entry {entry['entry_id']}: {entry['compound']} "
                           f"({entry['technique']}, {len(pos)} peaks)")
        self.plot.autoRange()
        self.drawn = {"position": pos, "intensity": inten, "profile": profile}
        self.details.setHtml(provenance_html(entry, compound, audit))

    # --- changes --------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.messages.appendPlainText(text)

    def _changed(self) -> None:
        self.set_library(self.path)
        self.library_changed.emit()

    def add_from_file(self, file, compound: str, licence: str | None = None,
                      curator: str | None = None) -> dict | None:
        """``fentid library add`` through the curation API; the messages say what happened.

        Returns the new entry, or None when the spectrum was refused (reason shown).
        """
        from fentid.curation import add_spectrum

        try:
            entry = add_spectrum(self.path, file, compound, licence=licence, curator=curator)
        except FentidError as exc:
            self._say(f"refused: {one_line(str(exc))}")
            return None
        flags = entry.get("flags") or []
        self._say(f"added entry {entry['entry_id']} ({entry['technique']}) for "
                  f"{entry['compound']} from {file}"
                  + (f"; flagged: {', '.join(flags)}" if flags else "; validation passed"))
        self._changed()
        self.select_entry(entry["entry_id"])
        return entry

    def retire(self, entry_id: int, reason: str, curator: str | None = None) -> bool:
        """Retire an entry (kept in the file, excluded from search), audited with ``reason``."""
        from fentid.reference_library import edit

        if not reason.strip():
            self._say("refused: retiring an entry needs a reason")
            return False
        try:
            with edit(self.path, curator) as w:
                w.retire(int(entry_id), reason)
        except FentidError as exc:
            self._say(f"refused: {one_line(str(exc))}")
            return False
        self._say(f"retired entry {entry_id}: {reason}")
        self._changed()
        return True

    def reassign(self, entry_id: int, compound: str, reason: str,
                 curator: str | None = None) -> dict | None:
        """Attach an entry to another compound (audited with the reason)."""
        from fentid.curation import reassign_entry

        try:
            done = reassign_entry(self.path, int(entry_id), compound, reason, curator=curator)
        except FentidError as exc:
            self._say(f"refused: {one_line(str(exc))}")
            return None
        self._say(f"entry {entry_id}: {done['from']} -> {done['to']} ({reason})")
        self._changed()
        return done

    # --- dialogs (interactive only) ---------------------------------------------------------
    def _selected_id(self) -> int | None:
        entry = getattr(self, "current", None)
        if entry is None:
            self._say("select an entry first")
            return None
        return int(entry["entry_id"])

    def _add_dialog(self) -> None:
        if self.path is None:
            return
        file = QFileDialog.getExistingDirectory(self, "Spectrum folder (Bruker, VnmrJ...) "
                                                "- Cancel to pick a file instead")
        if not file:
            file, _ = QFileDialog.getOpenFileName(self, "Spectrum file")
        if not file:
            return
        compound, ok = QInputDialog.getText(self, "Add spectrum",
                                            "Compound (catalog name, InChIKey or SMILES):")
        if not ok or not compound.strip():
            return
        licence, _ = QInputDialog.getText(self, "Add spectrum", "Licence of the spectrum:")
        self.add_from_file(file, compound.strip(), licence.strip() or None)

    def _retire_dialog(self) -> None:
        entry_id = self._selected_id()
        if entry_id is None:
            return
        reason, ok = QInputDialog.getText(self, "Retire entry", f"Why retire entry {entry_id}?")
        if ok:
            self.retire(entry_id, reason)

    def _reassign_dialog(self) -> None:
        entry_id = self._selected_id()
        if entry_id is None:
            return
        compound, ok = QInputDialog.getText(self, "Reassign entry",
                                            "New compound (name, InChIKey or SMILES):")
        if not ok or not compound.strip():
            return
        reason, ok = QInputDialog.getText(self, "Reassign entry", "Reason:")
        if ok:
            self.reassign(entry_id, compound.strip(), reason)


def provenance_html(entry: dict, compound: dict, audit: list[dict]) -> str:
    """Where an entry came from and what happened to it."""
    import datetime as dt

    keys = ("entry_id", "technique", "compound", "record_name", "inchikey", "source",
            "source_record", "sha256", "licence", "accession", "curator", "instrument",
            "ionization", "precursor_mz", "collision_energy_ev", "field_mhz", "solvent",
            "retired")
    rows = []
    for k in keys:
        v = entry.get(k)
        if k == "added_at":
            continue
        if isinstance(v, float) and not np.isfinite(v):
            continue
        if v in (None, ""):
            continue
        rows.append(f"<tr><td><b>{k}</b></td><td>{html.escape(str(v))}</td></tr>")
    added = entry.get("added_at")
    if isinstance(added, float) and np.isfinite(added):
        rows.append("<tr><td><b>added</b></td><td>" + dt.datetime.fromtimestamp(
            added, dt.UTC).isoformat(timespec="seconds") + "</td></tr>")
    comp = "".join(f"<tr><td><b>{k}</b></td><td>{html.escape(str(compound.get(k)))}</td></tr>"
                   for k in ("name", "formula", "smiles", "compound_class", "isomer_group",
                             "synonyms", "origin") if compound.get(k))
    trail = "".join(
        f"<li>{dt.datetime.fromtimestamp(a['time'], dt.UTC).isoformat(timespec='seconds')}"
        f" v{a['library_version']} <b>{html.escape(a['action'])}</b> by "
        f"{html.escape(a['curator'])}: {html.escape(json.dumps(json.loads(a['detail'] or '{}')))}"
        "</li>" for a in audit)
    return (f"<h3>Entry</h3><table>{''.join(rows)}</table><h3>Compound</h3><table>{comp}"
            f"</table><h3>Audit</h3><ul>{trail or '<li>imported with its source</li>'}</ul>")
