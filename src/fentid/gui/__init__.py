"""pyqtgraph desktop viewer: the only place Qt is imported.

``fentid view [FILES...] [--library LIB]`` opens :class:`fentid.gui.window.MainWindow`;
``--screenshot OUT.png`` renders it offscreen and exits.  Importing this package does not
import Qt: :func:`launch` checks for the ``gui`` extra first and says how to install it.

Modules: :mod:`.window` (wiring), :mod:`.workers` (identify off the UI thread),
:mod:`.models` (tables), :mod:`.plots` (chromatogram, spectrum, mirror), :mod:`.panels`
(conclusion, decision, structures, comparison), :mod:`.mirror` (matched/unmatched sets),
:mod:`.case_record` (append-only decisions), :mod:`.export` (PNG/SVG, PDF/HTML),
:mod:`.library_tab` (curators), :mod:`.structures` (RDKit), :mod:`.app` (start, screenshot).
"""

from __future__ import annotations

from fentid.errors import FentidError

INSTALL_HINT = "the viewer needs the gui extra: pip install 'fentid[gui]'"


class MissingGuiError(FentidError):
    """PySide6 or pyqtgraph is not installed."""

    exit_code = 2


def require_qt() -> None:
    """Raise :class:`MissingGuiError` (one line, with the pip command) without the extra."""
    try:
        import pyqtgraph  # noqa: F401
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as exc:
        raise MissingGuiError(f"{INSTALL_HINT} ({exc.name or exc} is missing)") from None


def launch(files=(), library=None, *, screenshot=None, component=None, size=None,
           tab: str = "case", case=None) -> int:
    """Open the viewer (or render a screenshot and return); the exit code."""
    require_qt()
    from fentid.gui import app

    if screenshot is not None:
        return app.screenshot(files, library, screenshot, component=component, size=size,
                              tab=tab, case=case)
    return app.run(files, library, case=case)
