"""Cooperative cancellation of long work: the viewer's Cancel reaching into a long read.

:func:`fentid.identify` takes ``cancel`` (a callable or a :class:`threading.Event`) and
checks it between files and components.  Reading one 1 GB profile mzML takes a minute, so
the loops that stream a file also check it: :func:`cancellable` makes ``cancel`` the current
token of the calling context (a :mod:`contextvars` variable, so concurrent identifications
in other threads keep their own), and :func:`check` raises
:class:`~fentid.errors.CancelledError` when it is set.  Code outside any
:func:`cancellable` block pays one context-variable lookup per check.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from fentid.errors import CancelledError

_CURRENT: contextvars.ContextVar = contextvars.ContextVar("fentid_cancel", default=None)


def is_set(cancel) -> bool:
    """True when ``cancel`` (None, a callable returning bool, or an Event) asks to stop."""
    if cancel is None:
        return False
    return bool(cancel() if callable(cancel) else cancel.is_set())


@contextmanager
def cancellable(cancel) -> Iterator[None]:
    """Make ``cancel`` the token :func:`check` looks at inside the ``with`` block."""
    token = _CURRENT.set(cancel)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check() -> None:
    """Raise :class:`~fentid.errors.CancelledError` when the current token is set."""
    if is_set(_CURRENT.get()):
        raise CancelledError("cancelled")
