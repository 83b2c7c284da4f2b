"""Import boundaries from DESIGN.md section 2, each checked in a fresh interpreter."""

import subprocess
import sys

import pytest

FORBIDDEN = {
    "fentid": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "h5py"),
    "fentid.spectra": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "h5py", "fentid.drivers",
                       "fentid.reference_library"),
    "fentid.drivers": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "h5py",
                       "fentid.reference_library"),
    "fentid.reference_library": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "fentid.drivers"),
    "fentid.daemon": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph"),
    "fentid.cli": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "h5py"),
    # the package itself stays Qt-free, so a missing gui extra is a one-line error
    "fentid.gui": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "h5py"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_subpackage_does_not_pull_in_forbidden_modules(package):
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({package!r})\n"
        "if " + repr(package) + " == 'fentid.drivers':\n"
        "    from fentid.drivers.registry import drivers; drivers()\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    bad = [m for m in FORBIDDEN[package] if m in loaded]
    assert not bad, f"importing {package} pulled in {bad}"


def test_qt_is_imported_only_in_gui():
    """No module outside src/fentid/gui names a Qt binding or pyqtgraph in an import."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "fentid"
    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|PyQt5|PyQt6|pyqtgraph)\b",
                         re.MULTILINE)
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if "gui" not in p.relative_to(src).parts and pattern.search(p.read_text())]
    assert not offenders
