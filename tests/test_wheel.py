"""The built wheel, installed into a clean virtual environment, runs ``fentid demo`` without
the project checkout or ../shared (the README's first command, as a user gets it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    wheels = tmp / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-w", str(wheels), "-q"], capture_output=True, text=True, timeout=900, check=False)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("fentid-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([py, "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip())
    # the dependencies come from this interpreter's site-packages (no download); its own
    # .pth files (the editable checkout) are not processed from a path added this way
    (site / "_deps_from_base.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install",
                           "--no-deps", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=600, check=False)
    if inst.returncode != 0 and "no such option: --python" in inst.stderr:
        inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                               "--target", str(site), str(wheel)], capture_output=True,
                              text=True, timeout=600, check=False)
    assert inst.returncode == 0, inst.stderr
    return env_dir, site, wheel


def test_wheel_carries_the_default_library(installed):
    import zipfile

    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("default-library.h5", "default-library.json", "demo-spectra.msp",
                 "NOTICE-NIST.txt", "catalog.csv"):
        assert f"fentid/data/{data}" in names


def test_installed_demo_runs_without_the_checkout(installed, tmp_path):
    env_dir, site, _ = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FENTID_", "PYTHONPATH"))}
    env["FENTID_SHARED_DATA"] = str(tmp_path / "no-shared-data")
    env["HOME"] = str(tmp_path)
    fentid = env_dir / "bin" / "fentid"
    where = subprocess.run([env_dir / "bin" / "python", "-c", "import fentid; print(fentid.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    proc = subprocess.run([fentid, "demo", "--json", "-q"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["library"]["default"] is True and out["library"]["path"].startswith(str(site))
    assert all(r["right"] for r in out["demo"]["check"])
    assert (tmp_path / "fentid-demo" / "composition.json").is_file()
