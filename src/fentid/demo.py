"""``fentid demo``: a realistic case, its ground truth, and fentid's report on it.

The case is a GC-MS run of a seized powder of known composition, written in the two
vendor-neutral formats labs exchange (ANDI/AIA netCDF and mzML), simulated from real EI
spectra measured by labs other than the default library's source (SWGDRUG):

* caffeine (RIKEN, MassBank MSBNK-RIKEN-PR010011, CC BY-SA), a cutting agent;
* fentanyl (NIST FentanylClassifier replicate 250541);
* 3-methylfentanyl (NIST replicate 463843), eluting 7 s after fentanyl: a co-eluting pair that
  the deconvolution has to separate;
* N-trifluoroacetyl-4-ANPP (NIST 463800), an analog that is *not* in the library: a report that
  names it would be wrong.

How a run is simulated: scans every 0.35 s from 4 to 18 min over m/z 50-450 (a common GC-MS scan range;
library ions below it are never seen); each compound elutes as an exponentially modified
Gaussian (sigma 1.3 s, tau 1.0 s) carrying its spectrum; ion counts get shot noise
(variance proportional to the signal) and detector noise, and counts below a threshold are
dropped as a quadrupole's data system does; polydimethylsiloxane column bleed (m/z 73, 207,
281, 355) rises exponentially with time and CO2 (m/z 44) stays constant; centroid m/z carry a
small mass defect and jitter.  Everything is drawn from ``numpy.random.default_rng(seed)``:
the same seed writes the same files.

The composition (``composition.json``) is the ground truth: ``{"components": [{"compound",
"inchikey", "retention_time_s", "in_library"}]}``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from fentid.errors import FentidError

#: Default seed: the demo case is the same on every machine.
SEED = 20261203
SCAN_INTERVAL_S = 0.35
RUN_START_S, RUN_STOP_S = 240.0, 1080.0
SCAN_RANGE_MZ = (50, 450)
SIGMA_S, TAU_S = 1.3, 1.0
#: Counts below this are not recorded (quadrupole data-system threshold).
THRESHOLD = 150.0


@dataclass(frozen=True)
class DemoCompound:
    """One compound of the demo powder."""

    name: str            # record name in demo-spectra.msp
    retention_time_s: float
    apex_counts: float   # base-peak counts at the apex
    in_library: bool


COMPOSITION = (
    DemoCompound("Caffeine", 452.0, 9.0e5, True),
    DemoCompound("Fentanyl", 783.0, 1.2e6, True),
    DemoCompound("3-Methylfentanyl", 790.0, 4.0e5, True),
    DemoCompound("N-Trifluoroacetyl-4-ANPP", 861.0, 3.0e5, False),
)


def source_spectra() -> dict[str, tuple[np.ndarray, np.ndarray, dict]]:
    """The packaged real spectra: name -> (nominal m/z, relative intensity, record facts)."""
    from fentid.drivers import msp

    path = Path(str(resources.files("fentid").joinpath("data", "demo-spectra.msp")))
    out = {}
    for item in msp.read(path).items:
        meta = dict(item.metadata)
        out[meta["name"]] = (np.asarray(item.axis), np.asarray(item.intensities), meta)
    return out


def _emg(t: np.ndarray, t0: float) -> np.ndarray:
    """Exponentially modified Gaussian, apex normalised to 1."""
    from scipy.special import erfc, erfcx

    z = (t - t0) / SIGMA_S
    k = SIGMA_S / TAU_S
    arg = (k - z) / math.sqrt(2)
    # exp(k^2/2 - k z) erfc(arg), evaluated without overflow on either side of the apex
    with np.errstate(over="ignore", under="ignore"):
        before = np.exp(-0.5 * z * z) * erfcx(np.maximum(arg, 0.0))
        after = np.exp(0.5 * k * k - k * z) * erfc(np.minimum(arg, 0.0))
    shape = np.where(arg >= 0, before, after)
    return shape / shape.max()


def simulate(seed: int = SEED) -> dict:
    """Scans of the demo run: {"rt", "mz" (list per scan), "intensity" (list per scan)}."""
    rng = np.random.default_rng(seed)
    spectra = source_spectra()
    rt = np.arange(RUN_START_S, RUN_STOP_S, SCAN_INTERVAL_S)
    masses = np.arange(SCAN_RANGE_MZ[0], SCAN_RANGE_MZ[1] + 1)
    signal = np.zeros((rt.size, masses.size))
    for comp in COMPOSITION:
        mz, inten, _ = spectra[comp.name]
        inside = (mz >= SCAN_RANGE_MZ[0]) & (mz <= SCAN_RANGE_MZ[1])
        rel = np.zeros(masses.size)
        np.add.at(rel, (mz[inside] - SCAN_RANGE_MZ[0]).astype(int), inten[inside])
        rel /= rel.max()
        shape = _emg(rt, comp.retention_time_s + rng.normal(0, 0.05))
        signal += comp.apex_counts * shape[:, None] * rel[None, :]
    bleed = 250.0 * np.exp((rt - RUN_START_S) / 320.0)
    for ion, share in ((73, 0.35), (207, 1.0), (281, 0.55), (355, 0.25)):
        signal[:, ion - SCAN_RANGE_MZ[0]] += bleed * share
    signal[:, 44 - SCAN_RANGE_MZ[0]] += 900.0
    noisy = signal + rng.normal(0, 1, signal.shape) * np.sqrt(12.0 * signal + 40.0 ** 2)
    noisy = np.where(noisy >= THRESHOLD, np.round(noisy), 0.0)
    defect = 0.00045 * masses
    scans_mz, scans_int = [], []
    for i in range(rt.size):
        keep = np.flatnonzero(noisy[i])
        jitter = rng.normal(0, 0.03, keep.size)
        scans_mz.append(np.round(masses[keep] + defect[keep] + jitter, 4))
        scans_int.append(noisy[i, keep])
    return {"rt": rt, "mz": scans_mz, "intensity": scans_int}


def write_andi(path: Path, run: dict) -> None:
    """The run as an ANDI-MS (AIA) netCDF classic file."""
    from scipy.io import netcdf_file

    counts = np.array([m.size for m in run["mz"]], np.int32)
    index = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int32)
    mz = np.concatenate(run["mz"]) if counts.sum() else np.zeros(0)
    inten = np.concatenate(run["intensity"]) if counts.sum() else np.zeros(0)
    with netcdf_file(path, "w", version=1) as nc:
        nc.dataset_completeness = b"C1+C2"
        nc.ms_template_revision = b"1.0.1"
        nc.experiment_title = b"fentid demo: seized powder (simulated from real EI spectra)"
        nc.experiment_type = b"Centroided Mass Spectrum"
        nc.experiment_date_time_stamp = b"20261203120000+0000"
        nc.test_ionization_mode = b"Electron Impact"
        nc.test_ionization_polarity = b"Positive Polarity"
        nc.test_separation_type = b"Gas Chromatography"
        nc.operator_name = b"fentid demo"
        nc.createDimension("scan_number", counts.size)
        nc.createDimension("point_number", int(mz.size))
        for name, dtype, dim, values in (
                ("scan_acquisition_time", "d", "scan_number", run["rt"]),
                ("scan_index", "i", "scan_number", index),
                ("point_count", "i", "scan_number", counts),
                ("total_intensity", "d", "scan_number",
                 np.array([s.sum() for s in run["intensity"]])),
                ("mass_range_min", "d", "scan_number", np.full(counts.size, SCAN_RANGE_MZ[0])),
                ("mass_range_max", "d", "scan_number", np.full(counts.size, SCAN_RANGE_MZ[1])),
                ("mass_values", "d", "point_number", mz),
                ("intensity_values", "f", "point_number", inten)):
            var = nc.createVariable(name, dtype, (dim,))
            var[:] = values


def write_mzml(path: Path, run: dict) -> None:
    """The run as mzML 1.1 (centroided MS1 scans, 64-bit float arrays, no compression)."""
    import base64

    def array(values, accession, name, unit):
        data = base64.b64encode(np.asarray(values, "<f8").tobytes()).decode("ascii")
        return (f'<binaryDataArray encodedLength="{len(data)}">'
                '<cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>'
                '<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/>'
                f'<cvParam cvRef="MS" accession="{accession}" name="{name}" '
                f'unitCvRef="MS" unitAccession="{unit[0]}" unitName="{unit[1]}"/>'
                f"<binary>{data}</binary></binaryDataArray>")

    mzu, cu = ("MS:1000040", "m/z"), ("MS:1000131", "number of detector counts")
    head = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0" id="fentid_demo">'
            '<cvList count="2"><cv id="MS" fullName="PSI-MS" version="4.1.0" '
            'URI="https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"/>'
            '<cv id="UO" fullName="Unit Ontology" '
            'URI="http://obo.cvs.sourceforge.net/obo/obo/ontology/phenotype/unit.obo"/></cvList>'
            '<fileDescription><fileContent>'
            '<cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum"/>'
            '<cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum"/>'
            '</fileContent></fileDescription>'
            '<softwareList count="1"><software id="fentid" version="demo">'
            '<cvParam cvRef="MS" accession="MS:1000799" name="custom unreleased software tool" '
            'value="fentid demo"/></software></softwareList>'
            '<instrumentConfigurationList count="1"><instrumentConfiguration id="IC1">'
            '<componentList count="3"><source order="1">'
            '<cvParam cvRef="MS" accession="MS:1000389" name="electron ionization"/></source>'
            '<analyzer order="2"><cvParam cvRef="MS" accession="MS:1000081" '
            'name="quadrupole"/></analyzer><detector order="3"><cvParam cvRef="MS" '
            'accession="MS:1000253" name="electron multiplier"/></detector></componentList>'
            '</instrumentConfiguration></instrumentConfigurationList>'
            '<dataProcessingList count="1"><dataProcessing id="DP1"><processingMethod '
            'order="1" softwareRef="fentid"><cvParam cvRef="MS" accession="MS:1000035" '
            'name="peak picking"/></processingMethod></dataProcessing></dataProcessingList>'
            '<run id="demo" defaultInstrumentConfigurationRef="IC1">'
            f'<spectrumList count="{len(run["rt"])}" defaultDataProcessingRef="DP1">')
    parts = [head]
    for i, (t, mz, inten) in enumerate(zip(run["rt"], run["mz"], run["intensity"],
                                           strict=True)):
        parts.append(
            f'<spectrum index="{i}" id="scan={i + 1}" defaultArrayLength="{mz.size}">'
            '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
            '<cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum"/>'
            '<cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum"/>'
            f'<cvParam cvRef="MS" accession="MS:1000285" name="total ion current" '
            f'value="{float(inten.sum())}"/>'
            '<scanList count="1"><cvParam cvRef="MS" accession="MS:1000795" '
            'name="no combination"/><scan>'
            f'<cvParam cvRef="MS" accession="MS:1000016" name="scan start time" '
            f'value="{t:.3f}" unitCvRef="UO" unitAccession="UO:0000010" unitName="second"/>'
            '<scanWindowList count="1"><scanWindow>'
            f'<cvParam cvRef="MS" accession="MS:1000501" name="scan window lower limit" '
            f'value="{SCAN_RANGE_MZ[0]}" unitCvRef="MS" unitAccession="MS:1000040" '
            'unitName="m/z"/>'
            f'<cvParam cvRef="MS" accession="MS:1000500" name="scan window upper limit" '
            f'value="{SCAN_RANGE_MZ[1]}" unitCvRef="MS" unitAccession="MS:1000040" '
            'unitName="m/z"/></scanWindow></scanWindowList></scan></scanList>'
            '<binaryDataArrayList count="2">'
            + array(mz, "MS:1000514", "m/z array", mzu)
            + array(inten, "MS:1000515", "intensity array", cu)
            + "</binaryDataArrayList></spectrum>\n")
    parts.append("</spectrumList></run></mzML>\n")
    path.write_text("".join(parts), encoding="utf-8")


def write_case(folder: str | os.PathLike = "fentid-demo", seed: int = SEED) -> dict:
    """Write the demo case into ``folder``; returns the composition (the ground truth).

    Files: ``seized-powder.cdf`` (ANDI-MS), ``seized-powder.mzML`` (the same run),
    ``composition.json``, ``README.txt``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FentidError(f"cannot create the demo folder: {exc.strerror or exc}",
                          folder) from None
    run = simulate(seed)
    spectra = source_spectra()
    comps = []
    for c in COMPOSITION:
        meta = spectra[c.name][2]
        comps.append({"compound": c.name, "inchikey": meta.get("inchikey"),
                      "retention_time_s": c.retention_time_s, "in_library": c.in_library,
                      "source_spectrum": meta.get("comment") or meta.get("comments")})
    truth = {"description": "seized powder, GC-EI-MS, simulated from real EI spectra "
                            "(see fentid.demo); compounds not in the library must not be "
                            "identified",
             "seed": seed, "scan_range_mz": list(SCAN_RANGE_MZ), "components": comps,
             "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    try:
        write_andi(folder / "seized-powder.cdf", run)
        write_mzml(folder / "seized-powder.mzML", run)
        (folder / "composition.json").write_text(json.dumps(truth, indent=2) + "\n",
                                                 encoding="utf-8")
        (folder / "README.txt").write_text(
            "fentid demo case: a GC-MS run of a seized powder of known composition\n"
            "(composition.json), as ANDI netCDF (seized-powder.cdf) and mzML "
            "(seized-powder.mzML).\nIdentify it yourself:  fentid identify "
            "seized-powder.cdf\n", encoding="utf-8")
    except OSError as exc:
        raise FentidError(f"cannot write the demo case: {exc.strerror or exc}",
                          folder) from None
    return truth


def check(report: dict, truth: dict) -> list[dict]:
    """Each known compound next to what fentid concluded at its retention time.

    Returns
    -------
    list of dict
        ``{"compound", "retention_time_s", "in_library", "found": component name or None,
        "status", "concluded", "right"}``; ``right`` is True when the component near the
        compound's time names it (any status) or, for a compound absent from the library, when
        nothing there is ``identified``.
    """
    rows = []
    comps = report["components"]
    for c in truth["components"]:
        near = [k for k in comps if k.get("retention_time_s") is not None
                and abs(k["retention_time_s"] - c["retention_time_s"]) <= 3.0]
        best = min(near, key=lambda k: abs(k["retention_time_s"] - c["retention_time_s"]),
                   default=None)
        concl = best["conclusion"] if best else {"status": "not found", "compound": None}
        named = (concl.get("compound") or "").lower() == c["compound"].lower() or any(
            (n or "").lower() == c["compound"].lower() for n in concl.get("candidates") or ())
        right = named if c["in_library"] else concl["status"] != "identified"
        rows.append({"compound": c["compound"], "retention_time_s": c["retention_time_s"],
                     "in_library": c["in_library"], "found": best["name"] if best else None,
                     "status": concl["status"], "concluded": concl.get("compound"),
                     "right": bool(right)})
    return rows


def format_check(rows: list[dict]) -> str:
    lines = ["Known composition vs fentid's conclusions", ""]
    for r in rows:
        where = f"{r['retention_time_s']:.0f} s"
        lib = "" if r["in_library"] else " (not in the library)"
        got = (f"{r['status'].upper()}: {r['concluded']}" if r["concluded"]
               else r["status"].upper())
        mark = "ok" if r["right"] else "WRONG"
        lines.append(f"  {mark:5} {r['compound']}{lib} at {where}: {got}")
    return "\n".join(lines) + "\n"
