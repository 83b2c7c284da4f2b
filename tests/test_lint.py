"""ruff (DESIGN.md section 9) runs clean on the package, tests and benchmarks."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is in the test extra: pip install -e '.[test]'"
    out = subprocess.run([ruff, "check", "--output-format", "concise", "src", "tests",
                          "benchmarks"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
