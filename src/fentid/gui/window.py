"""The main window: wires the case report and the library to the views, nothing more.

Reading, processing and searching run in a worker thread (:mod:`fentid.gui.workers`); the
window only shows the :class:`~fentid.report.CaseReport` that :func:`fentid.identify`
returns, records decisions in the case record and exports.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fentid.errors import FentidError, one_line
from fentid.gui import case_record as cr
from fentid.gui.library_tab import LibraryTab
from fentid.gui.mirror import mirror_data
from fentid.gui.models import ComponentModel, HitModel
from fentid.gui.panels import (
    ComparePanel,
    ConclusionPanel,
    DecisionPanel,
    StructurePanel,
)
from fentid.gui.plots import ChromatogramPlot, MirrorPlot, SpectrumPlot, parse_ions
from fentid.gui.workers import IdentifyJob, JobRunner

RECENT_MAX = 10


def _slot(fn, *args):
    """A slot calling ``fn(*args)`` and returning None (PySide6 mishandles the reference
    count of a bool returned to it from a Python slot)."""

    def call(*_ignored) -> None:
        fn(*args)

    return call


def _slot_word(fn):
    """A one-argument slot returning None (see :func:`_slot`)."""

    def call(word: str) -> None:
        fn(word)

    return call
#: Hits compared side by side by default.
COMPARE_DEFAULT = 3


class MainWindow(QMainWindow):
    """fentid's viewer.

    Parameters
    ----------
    library : path-like or None
        Library file (None: the default library, as ``fentid identify`` resolves it).
    case_path : path-like, optional
        Case record file (default: beside the first sample, see
        :func:`fentid.gui.case_record.default_path`).
    interactive : bool
        False in tests and screenshots: errors go to the status bar, never to a modal box.
    """

    report_ready = Signal()
    job_failed = Signal(str)
    job_cancelled = Signal()
    decision_recorded = Signal(dict)

    def __init__(self, library=None, case_path=None, interactive: bool = True):
        super().__init__()
        self.setWindowTitle("fentid viewer")
        self.library_path = None if library is None else str(library)
        self.case_path = None if case_path is None else Path(case_path)
        self.interactive = interactive
        self.searcher = None
        self.report = None
        self.record: cr.CaseRecord | None = None
        self.contents = cr.CaseContents()
        self.decisions: dict[int, dict] = {}
        self.notes: list[str] = []
        self.current: int | None = None
        self.current_hit: int | None = None
        self.settings = QSettings("fentid", "viewer")
        self.runner = JobRunner(self)
        self._build()
        self._menus()
        self._shortcuts()
        self.setAcceptDrops(True)
        self.resize(1500, 950)
        if self.library_path:
            self._show_library_tab()

    # --- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        self.components = ComponentModel(self)
        self.component_table = QTableView()
        self.component_table.setModel(self.components)
        self.component_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.component_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.component_table.verticalHeader().hide()
        self.component_table.selectionModel().currentRowChanged.connect(
            self._component_row_changed)

        self.ions = QLineEdit()
        self.ions.setPlaceholderText("extracted-ion traces, e.g. m/z 245, 189")
        self.ions.returnPressed.connect(self._apply_ions)
        self.chromatogram = ChromatogramPlot()
        self.chromatogram.component_clicked.connect(self.select_component)
        self.spectrum = SpectrumPlot()
        self.mirror = MirrorPlot()
        self.compare = ComparePanel()
        self.structures = StructurePanel()
        self.lower = QTabWidget()
        self.lower.addTab(self.mirror, "Mirror plot")
        self.lower.addTab(self.compare, "Compare hits")
        self.lower.addTab(self.structures, "Structures")

        self.hits = HitModel(self)
        self.hit_table = QTableView()
        self.hit_table.setModel(self.hits)
        self.hit_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.hit_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.hit_table.verticalHeader().hide()
        self.hit_table.selectionModel().currentRowChanged.connect(
            self._hit_row_changed)
        self.compare_button = QPushButton("Compare selected hits")
        self.compare_button.clicked.connect(self._compare_selected)
        self.conclusion = ConclusionPanel()
        self.decision = DecisionPanel()
        self.decision.analyst.setText(str(self.settings.value("analyst", "") or ""))
        self.decision.decided.connect(_slot_word(self.decide))
        self.messages = QLabel()
        self.messages.setWordWrap(True)
        self.messages.setStyleSheet("color: #8a4b00")

        chrom_box = QWidget()
        cv = QVBoxLayout(chrom_box)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(self.ions)
        cv.addWidget(self.chromatogram)
        self.chrom_box = chrom_box
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(chrom_box)
        centre.addWidget(self.spectrum)
        centre.addWidget(self.lower)
        centre.setSizes([260, 300, 360])
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(QLabel("<b>Hits</b>"))
        rv.addWidget(self.hit_table, 3)
        rv.addWidget(self.compare_button)
        rv.addWidget(QLabel("<b>Conclusion</b>"))
        rv.addWidget(self.conclusion, 3)
        rv.addWidget(QLabel("<b>Decision</b>"))
        rv.addWidget(self.decision)
        rv.addWidget(self.messages)
        case = QSplitter(Qt.Orientation.Horizontal)
        case.addWidget(self.component_table)
        case.addWidget(centre)
        case.addWidget(right)
        case.setSizes([330, 720, 450])
        self.case_splitter = case

        self.library_tab = LibraryTab()
        self.library_tab.library_changed.connect(self._library_changed)
        self.tabs = QTabWidget()
        self.tabs.addTab(case, "Case")
        self.tabs.addTab(self.library_tab, "Library")
        self.setCentralWidget(self.tabs)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        bar = QWidget()
        bl = QHBoxLayout(bar)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.progress)
        bl.addWidget(self.cancel_button)
        self.statusBar().addPermanentWidget(bar)

    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self._action(file, "&Open files...", QKeySequence.StandardKey.Open, self._open_dialog)
        self._action(file, "Open &folder (Bruker, .D, ...)...", None, self._open_folder_dialog)
        self.recent_menu = file.addMenu("Open &recent")
        self._refresh_recent()
        file.addSeparator()
        self._action(file, "Export &case report (PDF/HTML)...", "Ctrl+E", self._export_dialog)
        plot = file.addMenu("Export &plot (PNG/SVG)")
        for name, widget in (("Mirror plot", "mirror"), ("Spectrum", "spectrum"),
                             ("Chromatogram", "chromatogram")):
            self._action(plot, f"{name}...", None,
                         _slot(self._export_plot_dialog, widget))
        file.addSeparator()
        self._action(file, "Open &library...", None, self._library_dialog)
        file.addSeparator()
        self._action(file, "&Quit", QKeySequence.StandardKey.Quit, _slot(self.close))

    def _action(self, menu, text, shortcut, slot) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _shortcuts(self) -> None:
        for key, step in ((Qt.Key.Key_Down, 1), (Qt.Key.Key_Right, 1), (Qt.Key.Key_Up, -1),
                          (Qt.Key.Key_Left, -1)):
            QShortcut(QKeySequence(key), self, _slot(self.step_component, step))
        for key, word in (("A", "accept"), ("R", "reject"), ("I", "inconclusive")):
            QShortcut(QKeySequence(key), self, _slot(self.decide, word))

    # --- opening --------------------------------------------------------------------------
    def open_files(self, paths) -> bool:
        """Identify ``paths`` (one case) in the worker; False when a job is running."""
        paths = [str(p) for p in paths]
        if not paths:
            return False
        if self.runner.busy:
            self.show_error("still reading the previous files: Cancel them first")
            return False
        job = IdentifyJob(paths, self.searcher or self.library_path)
        job.progress.connect(self._progress)
        job.finished.connect(self._finished)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self.pending = paths
        self.progress.setRange(0, 0)  # busy until the first component is searched
        self.progress.show()
        self.cancel_button.show()
        self.statusBar().showMessage("reading " + ", ".join(Path(p).name for p in paths))
        self.runner.start(job)
        self._remember(paths)
        return True

    def cancel(self) -> None:
        """Stop the running job at its next check."""
        self.runner.cancel()
        self.statusBar().showMessage("cancelling...")

    def _progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.statusBar().showMessage(f"searched {done}/{total}: {what}")

    def _job_ended(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _cancelled(self) -> None:
        self._job_ended()
        self.statusBar().showMessage("cancelled; nothing was changed")
        self.job_cancelled.emit()

    def _failed(self, message: str) -> None:
        self._job_ended()
        self.show_error(message)
        self.job_failed.emit(message)

    def _finished(self, report, searcher, notes: list[str]) -> None:
        self._job_ended()
        self.searcher = searcher
        if self.library_path is None:
            self.library_path = searcher.path
        self.notes = notes
        self.show_report(report)
        self._show_library_tab()
        self.statusBar().showMessage(
            f"{len(report.components)} components from {len(report.samples)} sample(s); "
            f"library {Path(report.library.path).name} v{report.library.library_version}")
        self.report_ready.emit()

    def show_report(self, report) -> None:
        """Show a CaseReport and the decisions its case record holds."""
        self.report = report
        path = self.case_path or cr.default_path([s.path for s in report.samples])
        self.record = cr.CaseRecord(path)
        self.contents = self.record.read()
        self.decisions = self._decisions_by_index()
        self.components.set_report(report, self.decisions)
        self._fit_columns(self.component_table, 200)
        has_run = any(c.chromatogram is not None for c in report.components)
        self.chrom_box.setVisible(has_run)
        if has_run:
            self.chromatogram.show_report(report)
        problems = self.contents.problems + [f"{p['file']}: record {p.get('record')}: "
                                             f"{p['reason']}" for p in report.problems]
        self.messages.setText("\n".join([*self.notes[:5], *problems[:5]]))
        first = next((k for k, c in enumerate(report.components) if c.status != "no_match"), 0)
        self.current = None
        if report.components:
            self.select_component(first)

    def _decisions_by_index(self) -> dict[int, dict]:
        latest = self.contents.decisions()
        out = {}
        for k in range(len(self.report.components)):
            line = latest.get(cr.key_of(self.report, k))
            if line is not None:
                out[k] = line
        return out

    # --- selection ------------------------------------------------------------------------
    def _component_row_changed(self, current, _previous) -> None:
        if current.isValid():
            self.select_component(current.row())

    def _hit_row_changed(self, current, _previous) -> None:
        if current.isValid():
            self.select_hit(current.row())

    def select_component(self, index: int) -> None:
        if self.report is None or not 0 <= index < len(self.report.components):
            return
        if index == self.current:
            return
        self.current = index
        comp = self.report.components[index]
        self.component_table.selectRow(index)
        self.chromatogram.select(index)
        self.spectrum.show_component(comp)
        self.hits.set_hits(comp.hits)
        self._fit_columns(self.hit_table, 170)
        self.conclusion.show_component(comp)
        self.decision.show_history(self.contents.history(cr.key_of(self.report, index)))
        self.structures.show_candidates(self._isomer_candidates(comp))
        self.lower.setTabEnabled(2, comp.status == "isomer_group")
        self.current_hit = None
        if comp.hits:
            self.select_hit(0)
            self.hit_table.selectRow(0)
        else:
            self.mirror.show_mirror(None)
        self.compare_hits(list(range(min(COMPARE_DEFAULT, len(comp.hits)))))

    @staticmethod
    def _fit_columns(table: QTableView, widest: int) -> None:
        """Columns sized to their contents, none wider than ``widest`` pixels (elided)."""
        table.resizeColumnsToContents()
        for col in range(table.model().columnCount()):
            table.setColumnWidth(col, min(table.columnWidth(col), widest))

    def step_component(self, step: int) -> None:
        if self.report is None or not self.report.components:
            return
        n = len(self.report.components)
        self.select_component(min(max((self.current or 0) + step, 0), n - 1))

    def select_hit(self, row: int) -> None:
        comp = self.component()
        if comp is None or not 0 <= row < len(comp.hits):
            return
        self.current_hit = row
        self.mirror.show_mirror(*self.mirror_args(comp, comp.hits[row]))

    def component(self):
        return None if self.report is None or self.current is None else \
            self.report.components[self.current]

    def mirror_args(self, comp, hit) -> tuple:
        """(MirrorData, labels, query spectrum, reference profile) for one hit."""
        lib = self.searcher.library
        ref = lib.entry_peaklist(hit["entry_id"])
        nmr = comp.technique.startswith("nmr")
        solvents = (None, None)
        if nmr:
            q_meta = comp.spectrum.metadata if comp.spectrum is not None else {}
            solvents = (q_meta.get("solvent"), lib.entry(hit["entry_id"]).get("solvent"))
        data = mirror_data(comp.peaks, ref, comp.technique, hit.get("evidence"), solvents)
        profile = lib.profile(hit["entry_id"]) if nmr else None
        label = hit["compound"] + (f" [{hit['record_name']}]" if hit.get("record_name")
                                   and hit["record_name"] != hit["compound"] else "")
        return (data, comp.name, f"#{hit['rank']} {label}",
                comp.spectrum if nmr else None, profile)

    def compare_hits(self, rows: list[int]) -> None:
        comp = self.component()
        if comp is None:
            return
        self.compare.show_mirrors([self.mirror_args(comp, comp.hits[r]) for r in rows
                                   if 0 <= r < len(comp.hits)])

    def _compare_selected(self) -> None:
        rows = sorted({i.row() for i in self.hit_table.selectionModel().selectedRows()})
        if len(rows) < 2:
            rows = list(range(min(COMPARE_DEFAULT, len(self.hits.hits))))
        self.compare_hits(rows)
        self.lower.setCurrentWidget(self.compare)

    def _isomer_candidates(self, comp) -> list[tuple[str, str | None]]:
        v = comp.conclusion
        if v.status != "isomer_group" or self.searcher is None:
            return []
        out = []
        for name in v.candidates:
            try:
                smiles = self.searcher.library.compound(name).get("smiles") or None
            except FentidError:
                smiles = None
            out.append((name, smiles))
        return out

    def _apply_ions(self) -> None:
        text = self.ions.text().strip()
        try:
            mzs = parse_ions(text) if text else []
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.chromatogram.set_traces(mzs)

    # --- decisions ----------------------------------------------------------------------
    def decide(self, word: str) -> dict | None:
        """Record ``word`` (accept/reject/inconclusive) for the selected component."""
        comp = self.component()
        if comp is None:
            return None
        analyst = self.decision.analyst.text().strip()
        if not analyst:
            self.show_error("type the analyst's name before deciding")
            self.decision.analyst.setFocus()
            return None
        hit = comp.hits[self.current_hit] if self.current_hit is not None else None
        try:
            line = cr.decision_line(self.report, self.current, word, analyst,
                                    self.decision.comment.toPlainText().strip(), hit=hit)
            line = self.record.append(line)
        except FentidError as exc:
            self.show_error(one_line(str(exc)))
            return None
        self.settings.setValue("analyst", analyst)
        self.contents = self.record.read()
        self.decisions[self.current] = line
        self.components.set_decision(self.current, line)
        self.decision.comment.clear()
        self.decision.show_history(self.contents.history(line["component"]["key"]))
        self.statusBar().showMessage(f"{word} recorded in {self.record.path}")
        self.decision_recorded.emit(line)
        return line

    # --- export -------------------------------------------------------------------------
    def export_plot(self, which: str, path) -> Path:
        from fentid.gui.export import export_plot

        return export_plot(getattr(self, which), path)

    def export_report(self, path) -> Path:
        """Write the case report (PDF or HTML by the extension)."""
        from fentid.gui.export import (
            plot_image,
            png_bytes,
            reported_components,
            write_case_report,
        )

        if self.report is None:
            raise FentidError("open a sample first")
        images = {}
        plot = MirrorPlot()
        for k in reported_components(self.report, self.decisions):
            comp = self.report.components[k]
            hit = self._decided_hit(k) or (comp.hits[0] if comp.hits else None)
            if hit is None:
                continue
            plot.show_mirror(*self.mirror_args(comp, hit))
            images[k] = png_bytes(plot_image(plot))
        plot.deleteLater()
        histories = {k: self.contents.history(cr.key_of(self.report, k))
                     for k in range(len(self.report.components))}
        return write_case_report(path, self.report, self.decisions, histories, images,
                                 self.record.path)

    def _decided_hit(self, k: int) -> dict | None:
        line = self.decisions.get(k)
        shown = line.get("hit_shown") if line else None
        if not shown:
            return None
        return next((h for h in self.report.components[k].hits
                     if h["entry_id"] == shown["entry_id"]), None)

    # --- library --------------------------------------------------------------------------
    def _show_library_tab(self) -> None:
        if self.library_path:
            try:
                self.library_tab.set_library(self.library_path)
            except FentidError as exc:
                self.show_error(one_line(str(exc)))

    def _library_changed(self) -> None:
        """A curator changed the library: search the new file from now on."""
        import fentid

        if self.runner.busy:
            return
        if self.searcher is not None:
            self.searcher.close()
        self.searcher = fentid.open_library(self.library_path)
        self.statusBar().showMessage("library changed: open the samples again to search "
                                     "the new version")

    # --- dialogs, recent files, drag and drop ---------------------------------------------
    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message)
        self.last_error = message
        if self.interactive:
            QMessageBox.warning(self, "fentid", message)

    def _open_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open samples")
        if files:
            self.open_files(files)

    def _open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a sample folder")
        if folder:
            self.open_files([folder])

    def _library_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Reference library", filter="*.h5")
        if path:
            self.set_library(path)

    def set_library(self, path) -> None:
        if self.searcher is not None:
            self.searcher.close()
        self.searcher = None
        self.library_path = str(path)
        self._show_library_tab()

    def _export_dialog(self) -> None:
        if self.report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export case report", "case-report.pdf",
                                              "PDF (*.pdf);;HTML (*.html)")
        if path:
            try:
                self.statusBar().showMessage(f"wrote {self.export_report(path)}")
            except FentidError as exc:
                self.show_error(one_line(str(exc)))

    def _export_plot_dialog(self, which: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", f"{which}.png",
                                              "PNG (*.png);;SVG (*.svg)")
        if path:
            try:
                self.statusBar().showMessage(f"wrote {self.export_plot(which, path)}")
            except FentidError as exc:
                self.show_error(one_line(str(exc)))

    def recent(self) -> list[list[str]]:
        value = self.settings.value("recent", []) or []
        return [v.split("\n") for v in (value if isinstance(value, list) else [value]) if v]

    def _remember(self, paths: list[str]) -> None:
        key = "\n".join(str(Path(p).resolve()) for p in paths)
        items = ["\n".join(r) for r in self.recent() if "\n".join(r) != key]
        self.settings.setValue("recent", [key, *items][:RECENT_MAX])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for paths in self.recent():
            act = self.recent_menu.addAction(", ".join(Path(p).name for p in paths))
            act.triggered.connect(_slot(self.open_files, paths))
        self.recent_menu.setEnabled(bool(self.recent()))

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    def closeEvent(self, event):
        self.runner.cancel()
        self.runner.wait()
        if self.searcher is not None:
            self.searcher.close()
        super().closeEvent(event)
