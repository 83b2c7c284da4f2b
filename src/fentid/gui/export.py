"""Exports: a plot as PNG or SVG, the case report as HTML or PDF (Qt's own writers; nothing
leaves the machine).

The case report has a summary page (library, samples with sha256, counts, the case's
techniques and limitations, one line per reported component) and one page per reported
component (every component that is not ``no_match``, and every component with a
decision): its conclusion, decision history, best hits and the mirror plot against the
hit the analyst looked at.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from fentid.errors import FentidError
from fentid.gui.models import conclusion_words, score_text
from fentid.gui.panels import conclusion_html

#: Width (px) of the mirror plot images in the report.
IMAGE_WIDTH = 1100
IMAGE_HEIGHT = 430
PDF_DPI = 150
#: Width of a mirror plot in the report (px of the HTML page; about the A4 text width).
REPORT_IMAGE_WIDTH = 900


def export_plot(plot, path: str | Path, width: int = 1600) -> Path:
    """Write a pyqtgraph PlotWidget to ``path`` (.png or .svg)."""
    from pyqtgraph import exporters

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return _write_svg(plot, path)
    if suffix == ".png":
        exporter = exporters.ImageExporter(plot.plotItem)
        exporter.parameters()["width"] = width
    else:
        raise FentidError("plots export as .png or .svg", str(path))
    exporter.export(str(path))
    if not path.is_file():
        raise FentidError("the plot could not be written", str(path))
    return path


def _write_svg(plot, path: Path) -> Path:
    """SVG through Qt's own generator (pyqtgraph 0.14's SVGExporter cannot parse the path
    data Qt 6.11 writes)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    size = plot.size()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(size)
    gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
    gen.setTitle("fentid plot")
    painter = QPainter(gen)
    try:
        plot.render(painter)
    finally:
        painter.end()
    if not path.is_file() or path.stat().st_size == 0:
        raise FentidError("the plot could not be written", str(path))
    return path


def plot_image(plot, width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> QImage:
    """A PlotWidget rendered to an image of ``width`` x ``height`` pixels (offscreen)."""
    plot.resize(width, height)
    return plot.grab().toImage()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data.data())


def reported_components(report, decisions: dict[int, dict]) -> list[int]:
    """Indices of the components that get a page: not ``no_match``, or decided."""
    return [k for k, c in enumerate(report.components)
            if c.status != "no_match" or k in decisions]


def _esc(value) -> str:
    return html.escape(str(value))


def _summary_html(report, decisions: dict[int, dict], record_path) -> str:
    lib = report.library
    counts = report.counts()
    rows = "".join(
        f"<tr><td>{_esc(s.path)}</td><td>{_esc(s.driver)}</td><td>{_esc(s.technique)}</td>"
        f"<td><code>{_esc(s.sha256)}</code></td></tr>" for s in report.samples)
    out = [
        "<h1>fentid case report</h1>",
        (f"<p>fentid {_esc(report.fentid_version)}; library {_esc(lib.path)} "
         f"(version {lib.library_version}, checksum <code>{_esc(lib.checksum)}</code>)</p>"),
        f"<p>Case record: {_esc(record_path)}</p>",
        ("<h2>Samples</h2><table border='1' cellspacing='0' cellpadding='3'>"
         "<tr><th>path</th><th>driver</th><th>technique</th><th>sha256</th></tr>"
         f"{rows}</table>"),
        "<h2>Summary</h2>",
        f"<p>{len(report.components)} components: "
        + ", ".join(f"{n} {s}" for s, n in counts.items()) + "</p>",
        f"<p>Identified: {_esc(', '.join(report.identified()) or 'none')}</p>",
    ]
    case = report.case
    cats = ", ".join(f"{t} (SWGDRUG category {c})" for t, c in
                     case.get("swgdrug_categories", {}).items())
    out.append(f"<p>Techniques: {_esc(cats)}; meets the SWGDRUG minimum: "
               f"{'yes' if case.get('meets_swgdrug_minimum') else 'no'}</p>")
    if case.get("limitations"):
        out.append("<p>Limitations:</p><ul>" + "".join(
            f"<li>{_esc(lim)}</li>" for lim in case["limitations"]) + "</ul>")
    shown = reported_components(report, decisions)
    lines = []
    for k in shown:
        c = report.components[k]
        d = decisions.get(k)
        decided = f"{d['decision']} by {d['analyst']}" if d else "no decision"
        lines.append(f"<tr><td>{k + 1}</td><td>{_esc(c.name)}</td>"
                     f"<td>{_esc(conclusion_words(c.conclusion))}</td>"
                     f"<td>{_esc(decided)}</td></tr>")
    out.append("<h2>Components reported</h2><table border='1' cellspacing='0' cellpadding='3'>"
               "<tr><th>#</th><th>component</th><th>conclusion</th><th>decision</th></tr>"
               + "".join(lines) + "</table>")
    quiet = [c for k, c in enumerate(report.components) if k not in shown]
    if quiet:
        out.append(f"<p>No match ({len(quiet)} components, no decision): "
                   + _esc(", ".join(c.name for c in quiet)) + "</p>")
    return "".join(out)


def _component_html(report, k: int, history: list[dict], image_src: str | None) -> str:
    c = report.components[k]
    rt = (f" at {c.retention_time_s:.2f} s" if c.retention_time_s is not None
          and " @ " not in c.name else "")
    out = [f"<h2 style='page-break-before: always'>Component {k + 1}: {_esc(c.name)}{rt}</h2>",
           f"<p>{_esc(c.technique)}, {_esc(c.algorithm)}; sample {_esc(c.sample)}</p>",
           conclusion_html(c)]
    if history:
        out.append("<p><b>Decisions</b> (oldest first):</p><ul>" + "".join(
            f"<li>{_esc(d['when'])}: <b>{_esc(d['decision'])}</b> by {_esc(d['analyst'])}"
            + (f": {_esc(d['comment'])}" if d.get("comment") else "") + "</li>"
            for d in history) + "</ul>")
    else:
        out.append("<p><b>Decision:</b> none recorded</p>")
    if c.hits:
        out.append("<table border='1' cellspacing='0' cellpadding='2'><tr><th>rank</th>"
                   "<th>compound</th><th>record</th><th>score</th><th>licence</th></tr>"
                   + "".join(f"<tr><td>{h['rank']}</td><td>{_esc(h['compound'])}</td>"
                             f"<td>{_esc(h.get('record_name') or '')}</td>"
                             f"<td>{_esc(score_text(h))}</td>"
                             f"<td>{_esc(h.get('licence') or 'not stated')}</td></tr>"
                             for h in c.hits[:5]) + "</table>")
    if image_src:
        out.append(f"<p><img src='{image_src}' width='{REPORT_IMAGE_WIDTH}'></p>")
    return "".join(out)


def case_report_html(report, decisions: dict[int, dict], histories: dict[int, list[dict]],
                     images: dict[int, bytes], record_path, embed: bool = True) -> str:
    """The case report as HTML; ``images`` are PNG bytes of mirror plots by component.

    ``embed``: images as data: URLs (a self-contained .html file); else as ``mirror-K.png``
    names for :class:`QTextDocument` resources.
    """
    body = [_summary_html(report, decisions, record_path)]
    for k in reported_components(report, decisions):
        src = None
        if k in images:
            src = ("data:image/png;base64," + base64.b64encode(images[k]).decode()) if embed \
                else f"mirror-{k}.png"
        body.append(_component_html(report, k, histories.get(k, []), src))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>fentid case report"
            "</title></head><body style='font-family: sans-serif'>" + "".join(body)
            + "</body></html>")


def write_case_report(path, report, decisions, histories, images, record_path) -> Path:
    """Write the case report to ``path``: ``.html`` (self-contained) or ``.pdf`` (A4)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".html":
        text = case_report_html(report, decisions, histories, images, record_path)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise FentidError(f"cannot write the report: {exc.strerror or exc}",
                              str(path)) from None
        return path
    if suffix != ".pdf":
        raise FentidError("case reports export as .pdf or .html", str(path))
    doc = pdf_document(report, decisions, histories, images, record_path)
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    doc.setPageSize(QSizeF(writer.width(), writer.height()))
    doc.print_(writer)
    del writer  # the file is complete when the writer is gone
    if not path.is_file() or path.stat().st_size == 0:
        raise FentidError("the PDF could not be written", str(path))
    return path


def pdf_document(report, decisions, histories, images, record_path) -> QTextDocument:
    """The report as a QTextDocument with the mirror images as resources."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    for k, png in images.items():
        img = QImage()
        img.loadFromData(png, "PNG")
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"mirror-{k}.png"), img)
    doc.setHtml(case_report_html(report, decisions, histories, images, record_path,
                                 embed=False))
    return doc
