"""Work off the UI thread: :func:`fentid.identify` in a QThread, with progress and Cancel.

The worker calls the public API only (``fentid.open_library``, ``fentid.identify``), so the
viewer shows exactly what ``fentid identify`` reports.  ``Cancel`` sets a
:class:`threading.Event` that identify checks between files and components and while a
large run streams (:mod:`fentid.cancellation`).
"""

from __future__ import annotations

import threading
import warnings

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from fentid.errors import CancelledError, FentidError, one_line


class IdentifyJob(QObject):
    """Identify ``paths`` against a library, in a worker thread.

    Parameters
    ----------
    paths : list of str
        The samples of the case.
    library : LibrarySearcher or path-like or None
        An open searcher (reused), or a library path opened in the worker (the new searcher
        is handed back with the report).
    top : int
        Hits kept per component.

    Signals
    -------
    progress(done, total, what)
    finished(report, searcher, warnings)
    failed(message)
        One line, as the CLI would print it.
    cancelled()
    """

    progress = Signal(int, int, str)
    finished = Signal(object, object, object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, paths, library=None, top: int = 10):
        super().__init__()
        self.paths = [str(p) for p in paths]
        self.library = library
        self.top = top
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at the next check (thread-safe)."""
        self.cancel_event.set()

    def _progress(self, done: int, total: int, what: str = "") -> None:
        self.progress.emit(done, total, what)

    @Slot()
    def run(self) -> None:
        import fentid
        from fentid.searching import LibrarySearcher

        searcher = self.library
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if not isinstance(searcher, LibrarySearcher):
                    searcher = fentid.open_library(searcher)
                report = fentid.identify(self.paths, library=searcher, top=self.top,
                                         progress=self._progress, cancel=self.cancel_event)
            except CancelledError:
                self.cancelled.emit()
                return
            except FentidError as exc:
                self.failed.emit(one_line(str(exc)))
                return
            except Exception as exc:  # noqa: BLE001 - the viewer must survive and say why
                self.failed.emit(f"internal error ({type(exc).__name__}: "
                                 f"{one_line(str(exc))}); please report it")
                return
        notes = list(dict.fromkeys(one_line(str(w.message)) for w in caught
                                   if issubclass(w.category, UserWarning)))
        self.finished.emit(report, searcher, notes)


class JobRunner(QObject):
    """Runs one job at a time in its own QThread and keeps both alive until it ends."""

    busy_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job: IdentifyJob | None = None
        self.thread: QThread | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None

    def start(self, job: IdentifyJob) -> None:
        if self.busy:
            raise FentidError("another file is still being read; cancel it first")
        thread = QThread()
        job.moveToThread(thread)
        thread.started.connect(job.run)
        # quit() is thread-safe: called directly from the worker, the thread ends at once
        # rather than when the UI thread next runs its event loop
        for signal in (job.finished, job.failed, job.cancelled):
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._ended)
        self.job, self.thread = job, thread
        self.busy_changed.emit(True)
        thread.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the running thread ends (shutdown, tests, screenshots)."""
        if self.thread is None:
            return True
        ended = self.thread.wait(ms)
        if ended:
            self._ended()
        return ended

    @Slot()
    def _ended(self) -> None:
        if self.thread is None:  # already handled by wait()
            return
        self.thread.deleteLater()
        self.job = self.thread = None
        self.busy_changed.emit(False)
