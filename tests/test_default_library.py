"""The packaged default library: what the build script makes from the real sources, used when
no library is given, named in every report, and the start of a lab's own library."""

from __future__ import annotations

import importlib.util
import json

from fentid.defaults import packaged_library
from fentid.reference_library import Library
from tests.conftest import DATA, MS, ROOT, run_cli
from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

MANIFEST = ROOT / "src" / "fentid" / "data" / "default-library.json"
QUERY = MS / "NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP"


def _build_script():
    spec = importlib.util.spec_from_file_location("build_default_library",
                                                  ROOT / "scripts" / "build_default_library.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rebuilding_from_the_sources_gives_the_shipped_file(tmp_path):
    mod = _build_script()
    assert mod.main(["--data", str(DATA), "--out", str(tmp_path)]) == 0
    recorded = json.loads(MANIFEST.read_text())
    rebuilt = json.loads((tmp_path / "default-library.json").read_text())
    assert rebuilt["sha256"] == recorded["sha256"] == mod.sha256(packaged_library())
    assert rebuilt["content_checksum"] == recorded["content_checksum"]
    assert (tmp_path / "demo-spectra.msp").read_bytes() == \
        (ROOT / "src/fentid/data/demo-spectra.msp").read_bytes()


def test_default_library_holds_what_its_manifest_says():
    recorded = json.loads(MANIFEST.read_text())
    with Library.open(packaged_library()) as lib:
        assert lib.checksum == recorded["content_checksum"]
        entries = lib.entries()
        assert {t: int(lib.entry_columns(t)["entry_id"].size) for t in lib.techniques()} == \
            recorded["entries"] == {"ei": 3430, "msms": 559}
    licences = {e["licence"] for e in entries}
    assert not any("NC" in lic or "ND" in lic for lic in licences)
    assert all(e["licence"] and e["source"] for e in entries)
    # sources are named relative to the data folder, so every machine builds the same file
    assert all(not e["source"].startswith("/") for e in entries)
    assert {e["source"] for e in entries if e["technique"] == "ei"} == {
        "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"}


def test_search_without_library_uses_the_default_and_says_so(tmp_path):
    env_home = {}
    proc = run_cli("search", QUERY, "--json", env=env_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["library"]["default"] is True
    assert out["library"]["path"] == str(packaged_library())
    assert out["library"]["checksum"] == json.loads(MANIFEST.read_text())["content_checksum"]
    assert out["results"][0]["hits"][0]["compound"] == "Fentanyl"
    text = run_cli("identify", QUERY, env=env_home).stdout
    assert "(fentid's default library)" in text


def test_environment_and_config_file_override_the_default(tmp_path, swgdrug_lib):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'library = "{swgdrug_lib}"\n')
    out = json.loads(run_cli("search", QUERY, "--json", env={"FENTID_CONFIG": str(cfg)}).stdout)
    assert out["library"]["path"] == str(swgdrug_lib) and out["library"]["default"] is False
    out = json.loads(run_cli("search", QUERY, "--json", env={
        "FENTID_CONFIG": str(cfg), "FENTID_LIBRARY": str(packaged_library())}).stdout)
    assert out["library"]["default"] is False and out["library"]["path"] == str(
        packaged_library())
    missing = tmp_path / "nope.h5"
    proc = run_cli("search", QUERY, env={"FENTID_LIBRARY": str(missing)})
    assert proc.returncode == 2 and str(missing) in proc.stderr
    assert "FENTID_LIBRARY" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    cfg.write_text("library = [broken\n")
    proc = run_cli("search", QUERY, env={"FENTID_CONFIG": str(cfg)})
    assert proc.returncode == 2 and str(cfg) in proc.stderr


def test_create_from_default_is_a_copy_with_its_own_history(tmp_path):
    lab = tmp_path / "lab.h5"
    proc = run_cli("library", "create", lab, "--from-default", "--name", "Lab X", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["entries"] == {"ei": 3430, "msms": 559} and out["from_default"] is True
    with Library.open(lab) as lib, Library.open(packaged_library()) as default:
        assert lib.library_version == default.library_version + 1
        assert lib.attrs["name"] == "Lab X"
        last = lib.audit()[-1]
        assert last["action"] == "create"
        assert json.loads(last["detail"])["checksum"] == default.checksum
    again = run_cli("library", "create", lab, "--from-default")
    assert again.returncode == 2 and "exists" in again.stderr

