"""fentid: identify fentanyl analogs from vendor NMR and mass-spectrometry files.

The public API (one house, four doors: the CLI, the viewer, the watch-folder service and
archive re-screening all use it)::

    import fentid

    with fentid.open_library() as lib:             # the default library, or a path
        report = fentid.identify(["run.D", "nmr/1"], library=lib)
        print(report.to_text())                     # or report.to_dict() for JSON
        for comp in report.components:
            comp.conclusion.status, comp.hits[0], comp.peaks, comp.chromatogram

``identify`` and ``search`` are imported on first use, so ``import fentid`` stays cheap (no
numpy, scipy or numba until they are needed).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fentid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from fentid.errors import FentidError

__all__ = ["CaseReport", "FentidError", "LibrarySearcher", "__version__", "identify",
           "open_library", "read", "search"]

_LAZY = {"identify": ("fentid.pipeline", "identify"), "search": ("fentid.pipeline", "search"),
         "open_library": ("fentid.pipeline", "open_library"),
         "LibrarySearcher": ("fentid.searching", "LibrarySearcher"),
         "CaseReport": ("fentid.report", "CaseReport"), "read": ("fentid.drivers", "read")}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fentid' has no attribute {name!r}")
