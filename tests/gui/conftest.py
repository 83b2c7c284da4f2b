"""Viewer tests run offscreen (QT_QPA_PLATFORM=offscreen, set in tests/conftest.py) with
pytest-qt; Qt settings (recent files, analyst name) go to a temporary folder, never to the
user's."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def viewer_app(tmp_path_factory):
    from PySide6.QtCore import QSettings

    from fentid.gui.app import application

    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    return application(offscreen=True)


def open_case(qtbot, paths, library, case_path, timeout_ms: int = 300_000):
    """A MainWindow (non-interactive) with ``paths`` identified against ``library``."""
    from fentid.gui.window import MainWindow

    window = MainWindow(library=library, case_path=case_path, interactive=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    with qtbot.waitSignal(window.report_ready, timeout=timeout_ms):
        assert window.open_files([str(p) for p in paths])
    window.runner.wait()
    return window
