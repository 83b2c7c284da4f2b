"""One module per file format, each registering a :class:`Driver`.

Use :func:`read` to read any supported file; :func:`find_driver` to see which
driver claims it.
"""

from fentid.drivers.registry import Driver, claimants, drivers, find_driver, read, register

__all__ = ["Driver", "claimants", "drivers", "find_driver", "read", "register"]
