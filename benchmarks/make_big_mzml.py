"""Write a large synthetic *profile* mzML (default about 1 GB) for the memory benchmark.

The file is never committed: write it under a temporary folder and delete it
afterwards (``bench_mzml_read.py`` does both). Spectra are LC-MS-like profile
scans: a regular m/z grid (64-bit, zlib) and float32 intensities (Gaussian
peaks on noise, zlib). A few distinct scans are encoded once and repeated with
their own ids and retention times so that writing 1 GB takes seconds, not
minutes.

Usage::

    python benchmarks/make_big_mzml.py /tmp/big.mzML --size-gb 1.0
"""

from __future__ import annotations

import argparse
import base64
import os
import zlib

import numpy as np

POINTS_PER_SCAN = 250_000
DISTINCT_SCANS = 8


def _encoded_scan(rng: np.random.Generator, n: int) -> tuple[bytes, bytes, float, float]:
    """Base64 of one zlib-compressed profile scan: (mz_b64, int_b64, mz_lo, mz_hi)."""
    mz = np.linspace(150.0, 2000.0, n) + rng.normal(0, 1e-6, n)
    mz.sort()
    inten = rng.gamma(1.5, 50.0, n).astype(np.float32)
    for centre in rng.uniform(200, 1900, 60):
        inten += (rng.uniform(1e4, 1e7) * np.exp(-0.5 * ((mz - centre) / 0.01) ** 2)).astype(
            np.float32)
    mz_b64 = base64.b64encode(zlib.compress(mz.astype("<f8").tobytes(), 1))
    int_b64 = base64.b64encode(zlib.compress(inten.astype("<f4").tobytes(), 1))
    return mz_b64, int_b64, float(mz[0]), float(mz[-1])


def _array(b64: bytes, dtype_acc: str, dtype_name: str, kind_acc: str, kind_name: str) -> bytes:
    return (
        f'<binaryDataArray encodedLength="{len(b64)}">\n'
        f'<cvParam cvRef="MS" accession="{dtype_acc}" name="{dtype_name}" value=""/>\n'
        '<cvParam cvRef="MS" accession="MS:1000574" name="zlib compression" value=""/>\n'
        f'<cvParam cvRef="MS" accession="{kind_acc}" name="{kind_name}" value=""/>\n'
        "<binary>"
    ).encode() + b64 + b"</binary>\n</binaryDataArray>\n"


def write_big_mzml(path: str | os.PathLike, size_bytes: int = 1 << 30, seed: int = 0) -> int:
    """Write a profile mzML of roughly ``size_bytes`` bytes; return the number of spectra."""
    rng = np.random.default_rng(seed)
    scans = [_encoded_scan(rng, POINTS_PER_SCAN) for _ in range(DISTINCT_SCANS)]
    bodies = [_array(m, "MS:1000523", "64-bit float", "MS:1000514", "m/z array")
              + _array(i, "MS:1000521", "32-bit float", "MS:1000515", "intensity array")
              for m, i, _, _ in scans]
    per_scan = len(bodies[0]) + 900
    n = max(1, size_bytes // per_scan)
    with open(path, "wb") as fh:
        fh.write(
            b'<?xml version="1.0" encoding="utf-8"?>\n<mzML xmlns="http://psi.hupo.org/ms/mzml" '
            b'version="1.1.0">\n<instrumentConfigurationList count="1">\n'
            b'<instrumentConfiguration id="IC1">\n<cvParam cvRef="MS" accession="MS:1000449" '
            b'name="LTQ Orbitrap" value=""/>\n<componentList count="1">\n<source order="1">\n'
            b'<cvParam cvRef="MS" accession="MS:1000073" name="electrospray ionization" '
            b'value=""/>\n</source>\n</componentList>\n</instrumentConfiguration>\n'
            b'</instrumentConfigurationList>\n<run id="big">\n'
            + f'<spectrumList count="{n}">\n'.encode())
        for i in range(n):
            k = i % DISTINCT_SCANS
            fh.write(
                f'<spectrum index="{i}" id="scan={i + 1}" defaultArrayLength="{POINTS_PER_SCAN}">\n'
                '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>\n'
                '<cvParam cvRef="MS" accession="MS:1000130" name="positive scan" value=""/>\n'
                '<cvParam cvRef="MS" accession="MS:1000128" name="profile spectrum" value=""/>\n'
                '<scanList count="1">\n<scan>\n<cvParam cvRef="MS" accession="MS:1000016" '
                f'name="scan start time" value="{i * 0.01:.5f}" unitCvRef="UO" '
                'unitAccession="UO:0000031" unitName="minute"/>\n</scan>\n</scanList>\n'
                '<binaryDataArrayList count="2">\n'.encode())
            fh.write(bodies[k])
            fh.write(b"</binaryDataArrayList>\n</spectrum>\n")
        fh.write(b"</spectrumList>\n</run>\n</mzML>\n")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--size-gb", type=float, default=1.0)
    args = parser.parse_args()
    n = write_big_mzml(args.out, int(args.size_gb * (1 << 30)))
    print(f"wrote {args.out}: {n} profile spectra, {os.path.getsize(args.out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
