"""JCAMP-DX decoding speed: our vectorised ASDF decoder against a per-token Python loop.

Run: ``python benchmarks/bench_jcamp.py``.  Prints median times (ms) over
repeats and the ratio against the baseline, measured in the same run:

* a synthetic 65,536-point DIFDUP table (Y-check on every line), decoded by
  :func:`fentid.drivers._jcamp_parse.decode_xyy` and by ``naive_decode``, the
  character-by-character loop most JCAMP readers use (the ``jcamp`` package
  and jcampconverter's slow path work this way); both must give equal arrays;
* the real 65,536-point DIF file XTC-814d_zg30.jdx and the 2,420-scan
  gcms.jdx read end to end through the driver.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fentid.drivers._jcamp_parse import decode_xyy
from fentid.drivers.jcampdx import read
from tests.drivers.test_jcampdx import _encode

DATA = ROOT.parent / "shared" / "data" / "formats"

_SQZ = {c: (i, False) for i, c in enumerate("@ABCDEFGHI")}
_SQZ.update({c: (-i, False) for i, c in enumerate("abcdefghi", start=1)})
_DIF = {c: (i, True) for i, c in enumerate("%JKLMNOPQR")}
_DIF.update({c: (-i, True) for i, c in enumerate("jklmnopqr", start=1)})
_DUP = {c: i for i, c in enumerate("STUVWXYZs", start=1)}


def naive_decode(text: str) -> np.ndarray:
    """Baseline: one Python step per character, Y-check dropped after a DIF line."""
    out: list[float] = []
    prev_dif = False
    for line in text.split("\n"):
        line = line.split("$$")[0].strip()
        if not line:
            continue
        tokens: list[tuple[str, str]] = []
        i = 0
        while i < len(line) and (line[i].isdigit() or line[i] in ".+-"):
            i += 1
        while i < len(line):
            c = line[i]
            j = i + 1
            while j < len(line) and (line[j].isdigit() or line[j] == "."):
                j += 1
            tokens.append((c, line[i + 1:j]))
            i = j
        values: list[float] = []
        last_tok = None
        was_dif = False
        for c, digits in tokens:
            if c in _DUP:
                count = int(str(_DUP[c]) + digits)
                for _ in range(count - 1):
                    if last_tok[1]:
                        values.append(values[-1] + last_tok[0])
                    else:
                        values.append(last_tok[0])
                continue
            if c in _SQZ:
                lead, is_dif = _SQZ[c]
            else:
                lead, is_dif = _DIF[c]
            sign = -1 if lead < 0 else 1
            num = sign * float(str(abs(lead)) + digits)
            if is_dif:
                base = values[-1] if values else out[-1]
                values.append(base + num)
            else:
                values.append(num)
            last_tok = (num, is_dif)
            was_dif = is_dif
        if prev_dif and values:
            values = values[1:]  # Y-check
        out.extend(values)
        prev_dif = was_dif
    return np.array(out)


def median_ms(func, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(7)
    y = np.cumsum(rng.integers(-1000, 1000, 65536) * (rng.random(65536) < 0.7))
    text = _encode(y, "DIFDUP", 15)
    fast = decode_xyy(text, 1, "synthetic", x_step=1.0).y
    slow = naive_decode(text)
    assert np.array_equal(fast, y) and np.array_equal(slow, y), "decoders disagree"
    # interleaved so that load from other processes hits both alike
    fast_times, slow_times = [], []
    for _ in range(15):
        fast_times.append(median_ms(lambda: decode_xyy(text, 1, "synthetic", x_step=1.0), 1))
        slow_times.append(median_ms(lambda: naive_decode(text), 1))
    t_fast, t_slow = statistics.median(fast_times), statistics.median(slow_times)
    print(f"64k-point DIFDUP table: decode_xyy {t_fast:.1f} ms, naive per-token loop "
          f"{t_slow:.1f} ms, ratio {t_slow / t_fast:.1f}x")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "difdup64k.dx"
        path.write_text("##TITLE= synthetic\n##JCAMP-DX= 5.01\n##DATA TYPE= NMR SPECTRUM\n"
                        "##.OBSERVE FREQUENCY= 400.0\n##.OBSERVE NUCLEUS= ^1H\n##XUNITS= HZ\n"
                        "##YUNITS= ARBITRARY UNITS\n##XFACTOR= 1\n##YFACTOR= 1\n"
                        f"##FIRSTX= 0\n##LASTX= {y.size - 1}\n##NPOINTS= {y.size}\n"
                        f"##XYDATA=(X++(Y..Y))\n{text}\n##END=\n")
        t_file = median_ms(lambda: read(path))
    print(f"64k-point DIFDUP file read end to end: {t_file:.1f} ms (target < 500 ms)")
    xtc = DATA / "jcamp_dx_nmr/nmr-dataset-demo_xtc/XTC-814d_zg30.jdx"
    gcms = DATA / "jcamp_dx_ms/jcampconverter/gcms.jdx"
    print(f"XTC-814d_zg30.jdx (65,536-point DIF NTUPLES, real+imag, 687 kB): "
          f"{median_ms(lambda: read(xtc)):.1f} ms")
    print(f"gcms.jdx (2,420 scans, 2.6 MB): {median_ms(lambda: read(gcms), 5):.1f} ms")


if __name__ == "__main__":
    main()
