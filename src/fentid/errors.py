"""Every exception and warning fentid raises on purpose.

The CLI turns any :class:`FentidError` into one line on stderr
(``fentid: error: <file>: <reason>``) and a non-zero exit code.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def one_line(text: str) -> str:
    """``text`` with its line breaks (and the spaces around them) turned into one space."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


class FentidError(Exception):
    """Base of everything fentid raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong, in words a lab analyst understands.
    path : str or os.PathLike, optional
        The file or folder the problem is about; the CLI prints it first.
    """

    exit_code = 2

    def __init__(self, message: str, path=None):
        # the CLI prints one line per error: parser messages (lxml's) may hold newlines
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FormatError(FentidError, ValueError):
    """Input not understood."""


class UnknownFormatError(FormatError):
    """No driver recognises the input."""


class CorruptDataError(FormatError):
    """The format was recognised but the content cannot be parsed."""


class NoSpectraError(FormatError):
    """The file is complete and valid but holds nothing fentid processes.

    For example an mzML holding chromatograms only. ``dataset``, when the
    driver could describe the file, is the :class:`~fentid.spectra.model.Dataset`
    saying what it does hold (``fentid info`` shows it instead of an error).
    """

    def __init__(self, message: str, path=None, dataset=None):
        super().__init__(message, path)
        self.dataset = dataset


class IncompleteDataError(FentidError):
    """The acquisition is still being written; retry later."""


class TruncatedDataError(IncompleteDataError, CorruptDataError):
    """The file ends before its content does.

    Either the instrument is still writing it (the watch-folder service retries later, as
    for any :class:`IncompleteDataError`) or it was cut short for good (a bad copy: the
    service quarantines it when it stays that way); both readings are true of the bytes, so
    it is both an :class:`IncompleteDataError` and a :class:`CorruptDataError`.
    """


class SpectrumError(FentidError, ValueError):
    """A model invariant (sorted axis, equal lengths, finite values) is violated."""


class ProcessingError(FentidError):
    """Processing could not produce a trustworthy result from valid input."""


class LibraryError(FentidError):
    """Reference library file problems."""


class LibraryVersionError(LibraryError):
    """The library was written with a schema this version does not know."""


class LibraryLockedError(LibraryError):
    """Another writer holds the library lock."""


class ValidationError(LibraryError):
    """A reference record failed validation (names the offending field)."""


class ConfigError(FentidError):
    """A setting (command line or config file) is missing or wrong; names the setting."""


class ArchiveError(FentidError):
    """Case-archive problems: a partition that cannot be read, a manifest out of order."""


class ServiceRunningError(FentidError):
    """Another watch-folder service already uses this state folder (names its pid)."""


class CancelledError(FentidError):
    """The caller asked a long operation to stop (viewer Cancel, service shutdown)."""

    exit_code = 130


class DataQualityWarning(UserWarning):
    """Recoverable oddity: axis guessed, frequency missing, counts disagree, ..."""
