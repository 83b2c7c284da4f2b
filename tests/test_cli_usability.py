"""The CLI as a person meets it: readable numbers, --json everywhere, -q anywhere, and bad
arguments answered as bad input (one line, exit 2), naming the user's own files."""

from __future__ import annotations

import json

import pytest

from fentid.defaults import packaged_library
from tests.conftest import FORMATS, MS, run_cli

QUERY = MS / "NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP"


def _one_line_exit_2(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fentid: error: "), proc.stderr
    for needle in needles:
        assert str(needle) in lines[0]


@pytest.mark.parametrize("command", ["search", "identify"])
def test_top_zero_is_bad_input(command):
    _one_line_exit_2(run_cli(command, QUERY, "--top", "0"), "--top")


def test_unwritable_out_is_bad_input(tmp_path):
    blocked = tmp_path / "missing-folder" / "report.json"
    _one_line_exit_2(run_cli("identify", QUERY, "--out", blocked), blocked)


@pytest.mark.parametrize("args", [["-q", "search", str(QUERY)], ["search", str(QUERY), "-q"],
                                  ["search", "-q", str(QUERY)]])
def test_quiet_before_or_after_the_command(args):
    assert run_cli(*args).returncode == 0


def test_info_prints_readable_numbers():
    out = run_cli("info", FORMATS / "agilent_d" / "yellow.D").stdout
    assert "510.28]" in out and "510.28000000000003" not in out


def test_every_library_command_speaks_json(tmp_path):
    lib = tmp_path / "lib.h5"
    created = json.loads(run_cli("library", "create", lib, "--json").stdout)
    assert created["path"] == str(lib) and created["entries"] == {}
    imported = json.loads(run_cli("library", "import", lib, QUERY, "--json").stdout)
    assert imported["imported"] == 1
    listed = json.loads(run_cli("library", "list", lib, "--json").stdout)
    entry = listed[0]["entry_id"]
    assert listed[0]["added_at"].endswith("+00:00")  # ISO 8601, not an epoch
    shown = json.loads(run_cli("library", "show", lib, str(entry), "--json").stdout)
    assert shown["added_at"] == listed[0]["added_at"]
    out = tmp_path / "out.msp"
    exported = json.loads(run_cli("library", "export", lib, out, "--format", "msp",
                                  "--json").stdout)
    assert exported["entries"] == 1 and out.is_file()
    removed = json.loads(run_cli("library", "remove", lib, str(entry), "--reason", "test",
                                 "--json").stdout)
    assert removed["entry_id"] == entry and removed["reason"] == "test"
    history = json.loads(run_cli("library", "history", lib, "--json").stdout)
    assert [h["action"] for h in history][-1] == "remove"
    assert all(h["time_iso"].endswith("+00:00") for h in history)


def test_errors_name_the_users_library_not_a_temporary_copy(tmp_path):
    lib = tmp_path / "lab.h5"
    run_cli("library", "create", lib)
    proc = run_cli("library", "remove", lib, "12345", "--reason", "x")
    _one_line_exit_2(proc, lib, "no entry 12345")
    assert ".tmp" not in proc.stderr


def test_search_names_the_library_it_used():
    out = run_cli("search", QUERY).stdout
    assert out.splitlines()[0].startswith(f"Library: {packaged_library()}")
