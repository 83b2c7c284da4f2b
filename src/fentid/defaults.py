"""Where settings come from when the user does not give them: the library, the config file.

Library, in order: the ``--library`` argument (or ``path`` in the API); the
``FENTID_LIBRARY`` environment variable; ``library = "..."`` in the config file; the
reference library shipped inside the fentid package (``fentid/data/default-library.h5``,
built by ``scripts/build_default_library.py`` from openly licensed sources).

Config file: ``$FENTID_CONFIG``, else ``$XDG_CONFIG_HOME/fentid/config.toml`` (default
``~/.config/fentid/config.toml``); on Windows ``%APPDATA%\\fentid\\config.toml``.  TOML, e.g.::

    library = "/srv/fentid/lab-library.h5"
"""

from __future__ import annotations

import os
import sys
import tomllib
from importlib import resources
from pathlib import Path

from fentid.errors import LibraryError

#: File name of the packaged default library inside ``fentid/data``.
DEFAULT_LIBRARY_NAME = "default-library.h5"


def config_path() -> Path:
    """The config file fentid reads (it need not exist)."""
    if os.environ.get("FENTID_CONFIG"):
        return Path(os.environ["FENTID_CONFIG"])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "fentid" / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fentid" / "config.toml"


def load_config() -> dict:
    """The config file's settings ({} when there is none).

    Raises
    ------
    LibraryError
        The file exists but is not valid TOML (named, with the parser's reason).
    """
    path = config_path()
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise LibraryError(f"config file is not valid TOML: {' '.join(str(exc).split())}",
                           path) from exc


def packaged_library() -> Path | None:
    """The library shipped inside the package, or None when this build has none."""
    try:
        ref = resources.files("fentid").joinpath("data", DEFAULT_LIBRARY_NAME)
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover
        return None
    path = Path(str(ref))
    return path if path.is_file() else None


def resolve_library(path=None) -> tuple[Path, bool]:
    """The library file to use and whether it is fentid's packaged default.

    Raises
    ------
    LibraryError
        The chosen file does not exist, or no library is given anywhere.
    """
    source = None
    if path is not None:
        source = "--library"
    elif os.environ.get("FENTID_LIBRARY"):
        path, source = os.environ["FENTID_LIBRARY"], "FENTID_LIBRARY"
    else:
        configured = load_config().get("library")
        if configured:
            path, source = configured, f"config file {config_path()}"
    if path is not None:
        chosen = Path(path).expanduser()
        if not chosen.is_file():
            raise LibraryError(f"no such library file (from {source})", chosen)
        return chosen, False
    default = packaged_library()
    if default is None:
        raise LibraryError("no library given (--library, FENTID_LIBRARY or the config file) "
                           "and this fentid build has no packaged default library")
    return default, True
