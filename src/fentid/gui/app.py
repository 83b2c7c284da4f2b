"""Starting the viewer, and rendering it offscreen for ``--screenshot``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fentid.errors import FentidError

#: Seconds a screenshot waits for identify to finish (a 1 GB run takes a few minutes).
SCREENSHOT_TIMEOUT_S = 1800


def application(offscreen: bool = False):
    """The QApplication (created once); ``offscreen`` renders without a display."""
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from fentid.gui.style import configure_pyqtgraph

    app = QApplication.instance()
    if app is None:
        _quiet_offscreen_notes()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("fentid viewer")
        app.setOrganizationName("fentid")
        configure_pyqtgraph()
    return app


def _quiet_offscreen_notes() -> None:
    """Drop the offscreen platform's note that it ignores window size hints (noise to a
    user); every other Qt message still reaches stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message: str) -> None:
        if "propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def run(files, library, case=None) -> int:
    """Show the main window and run the event loop."""
    app = application()
    from fentid.gui.window import MainWindow

    window = MainWindow(library=library, case_path=case)
    window.show()
    if files:
        window.open_files(files)
    return app.exec()


def parse_size(text: str | None) -> tuple[int, int]:
    """``"1600x1000"`` -> (1600, 1000)."""
    if not text:
        return 1600, 1000
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FentidError(f"--size must be WIDTHxHEIGHT in pixels, not {text!r}") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise FentidError(f"--size {text}: width and height must be 200-8000 pixels")
    return w, h


def wait_for_report(window, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> None:
    """Run the event loop until the window's job ends; raise its error, if any."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    outcome: dict = {}

    # slots return None: PySide6 mishandles the reference count of a bool a slot returns
    def ready() -> None:
        outcome["ok"] = True
        loop.quit()

    def failed(message: str) -> None:
        outcome["error"] = message
        loop.quit()

    window.report_ready.connect(ready)
    window.job_failed.connect(failed)
    window.job_cancelled.connect(lambda: failed("cancelled"))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if window.runner.busy:
        loop.exec()
    window.runner.wait()
    if "error" in outcome:
        raise FentidError(outcome["error"])
    if "ok" not in outcome:
        raise FentidError(f"identification did not finish within {timeout_s:.0f} s")


def screenshot(files, library, out, component=None, size=None, tab: str = "case",
               case=None) -> int:
    """Render the main window for ``files`` to ``out`` (PNG) without showing it.

    Parameters
    ----------
    component : int, optional
        1-based component number (the ``#`` column) to select; its mirror plot against
        the top hit is shown.  Default: the first component with a match.
    tab : str
        ``case`` or ``library``.
    """
    width, height = parse_size(size)
    app = application(offscreen=True)
    from fentid.gui.window import MainWindow

    window = MainWindow(library=library, case_path=case, interactive=False)
    window.resize(width, height)
    window.show()
    if files:
        window.open_files(files)
        wait_for_report(window)
        if component is not None:
            n = len(window.report.components)
            if not 1 <= component <= n:
                raise FentidError(f"--component {component}: the case has {n} components")
            window.select_component(component - 1)
    if tab == "library":
        window.tabs.setCurrentWidget(window.library_tab)
    app.processEvents()
    image = window.grab()
    out = Path(out)
    if not image.save(str(out)):
        raise FentidError("cannot write the screenshot", str(out))
    window.close()
    return 0
