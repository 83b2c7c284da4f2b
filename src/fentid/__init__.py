"""fentid: identify fentanyl analogs from vendor NMR and mass-spectrometry files."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fentid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from fentid.errors import FentidError

__all__ = ["FentidError", "__version__"]
