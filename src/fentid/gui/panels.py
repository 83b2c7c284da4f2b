"""Side panels of the case view: the conclusion in plain words, the decision, the isomer
structures and the side-by-side comparison of several hits."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fentid.gui.style import DECISION_COLOURS, STATUS_COLOURS

STATUS_WORDS = {"identified": "Identified", "isomer_group": "Isomer group",
                "tentative": "Tentative", "no_match": "No match"}


def conclusion_html(comp) -> str:
    """The conclusion of one component: status, what, reason, rule, limitations."""
    v = comp.conclusion
    colour = STATUS_COLOURS.get(v.status, "#000")
    what = (v.isomer_group if v.status == "isomer_group" else v.compound) or ""
    head = (f"<p><b style='color:{colour}'>{STATUS_WORDS.get(v.status, v.status)}</b>"
            f"{': ' + html.escape(what) if what else ''}</p>")
    parts = [head]
    if v.record_name and v.compound and v.record_name.lower() != v.compound.lower():
        parts.append(f"<p>Reference record: {html.escape(v.record_name)}</p>")
    parts.append(f"<p><b>Why:</b> {html.escape(v.reason)}</p>")
    parts.append(f"<p><b>Rule:</b> <code>{html.escape(v.rule)}</code></p>")
    if v.candidates and v.status != "identified":
        parts.append("<p><b>Consistent with:</b> " + html.escape(", ".join(v.candidates))
                     + "</p>")
    if v.stereo_isomers:
        parts.append("<p><b>Stereoisomers not distinguished:</b> "
                     + html.escape(", ".join(v.stereo_isomers)) + "</p>")
    if v.limitations:
        parts.append("<p><b>Limitations:</b></p><ul>" + "".join(
            f"<li>{html.escape(lim)}</li>" for lim in v.limitations) + "</ul>")
    return "".join(parts)


class ConclusionPanel(QTextBrowser):
    """The conclusion, in the words of the report."""

    def show_component(self, comp) -> None:
        self.setHtml("" if comp is None else conclusion_html(comp))


class DecisionPanel(QWidget):
    """Analyst name, comment and Accept / Reject / Inconclusive; emits ``decided(word)``."""

    decided = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.analyst = QLineEdit()
        self.analyst.setPlaceholderText("analyst name (required)")
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("comment (optional)")
        self.comment.setMaximumHeight(60)
        self.status = QLabel("no decision recorded")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        self.buttons = {}
        for word, key in (("accept", "A"), ("reject", "R"), ("inconclusive", "I")):
            b = QPushButton(f"{word.capitalize()} ({key})")
            b.setStyleSheet(f"color: {DECISION_COLOURS[word]}; font-weight: bold")
            b.clicked.connect(self._emitter(word))
            buttons.addWidget(b)
            self.buttons[word] = b
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Analyst:"))
        row.addWidget(self.analyst)
        layout.addLayout(row)
        layout.addWidget(self.comment)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    def _emitter(self, word: str):
        def emit(*_ignored) -> None:
            self.decided.emit(word)

        return emit

    def show_history(self, history: list[dict]) -> None:
        if not history:
            self.status.setText("no decision recorded")
            return
        last = history[-1]
        colour = DECISION_COLOURS[last["decision"]]
        text = (f"<b style='color:{colour}'>{last['decision']}</b> by "
                f"{html.escape(last['analyst'])}, {last['when']}")
        if last.get("comment"):
            text += f": {html.escape(last['comment'])}"
        if len(history) > 1:
            text += f" ({len(history) - 1} earlier decision(s) kept in the case record)"
        self.status.setText(text)


class StructurePanel(QScrollArea):
    """The structures of an isomer group's candidates, differing atoms highlighted."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.drawings: list = []
        self.message = ""
        self._set_content(QLabel("structures are drawn for isomer groups"))

    def _set_content(self, widget: QWidget) -> None:
        self.setWidget(widget)

    def show_candidates(self, candidates: list[tuple[str, str | None]]) -> None:
        from fentid.gui.structures import draw_group, rdkit_available

        self.drawings = []
        if not candidates:
            self.message = "structures are drawn for isomer groups"
            self._set_content(QLabel(self.message))
            return
        if not rdkit_available():
            self.message = ("drawing structures needs RDKit: pip install 'fentid[chem]'")
            self._set_content(QLabel(self.message))
            return
        try:
            self.drawings = draw_group(candidates)
        except ValueError as exc:
            self.message = str(exc)
            self._set_content(QLabel(self.message))
            return
        self.message = ""
        box = QWidget()
        grid = QGridLayout(box)
        for k, d in enumerate(self.drawings):
            label = QLabel()
            if d.png:
                pix = QPixmap()
                pix.loadFromData(d.png, "PNG")
                label.setPixmap(pix)
            else:
                label.setText(f"{d.name}: {d.note}")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(label, k // 3, k % 3)
        self._set_content(box)


class ComparePanel(QWidget):
    """Several hits side by side: one small mirror plot per hit."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots: list = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def show_mirrors(self, mirrors: list[tuple]) -> None:
        """``mirrors``: (MirrorData, query label, reference label, query spectrum, profile)."""
        from fentid.gui.plots import MirrorPlot

        for p in self.plots:
            self._layout.removeWidget(p)
            p.deleteLater()
        self.plots = []
        for data, ql, rl, spec, prof in mirrors:
            plot = MirrorPlot()
            plot.show_mirror(data, ql, rl, spec, prof)
            plot.setTitle(f"{html.escape(rl)}: {data.n_matched}/{data.reference_position.size}"
                          " matched", size="9pt")
            self._layout.addWidget(plot)
            self.plots.append(plot)
