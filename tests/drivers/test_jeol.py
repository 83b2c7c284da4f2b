"""JEOL Delta .jdf driver (our own parser) against the jeolconverter facts in formats/index.csv."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fentid.drivers import claimants, find_driver, read
from fentid.drivers.jeol import group_delay_points, parse_header
from fentid.errors import CorruptDataError
from fentid.spectra import nmr
from tests.conftest import FORMATS, load_index, run_cli

ROWS = {r["path"]: r for r in load_index("formats/index.csv") if r["path"].startswith("jeol")}
PROTON_ROW = "jeol_delta/Rutin_3080ug200uL_DMSOd6_qHNMR_400MHz_Jeol.jdf"
CARBON_ROW = "jeol_delta/Rutin_3080ug200uL_DMSOd6_13CNMR_400MHz_Jeol.jdf"
PROTON = FORMATS / PROTON_ROW
CARBON = FORMATS / CARBON_ROW


def fact(row: str, key: str) -> str:
    """``key=value`` from a row's facts column (value up to ';' or whitespace)."""
    match = re.search(rf"(?<![\w.]){re.escape(key)}=([^;\s]+)", ROWS[row]["facts"])
    assert match, f"{key} not in facts of {row}"
    return match.group(1)


def _number(text: str) -> float:
    return float(re.match(r"[-+0-9.eE]+", text).group(0))


def test_both_rows_present():
    assert sorted(ROWS) == sorted([PROTON_ROW, CARBON_ROW])


@pytest.mark.parametrize("row", [PROTON_ROW, CARBON_ROW])
def test_info_json_reproduces_jeolconverter_facts(row):
    proc = run_cli("info", "--json", FORMATS / row)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["driver"] == "jeol"
    assert info["nucleus"] == fact(row, "nucleus[0]")
    assert info["points"] == int(fact(row, "dataPoints[0]"))
    assert info["dimensions"] == int(fact(row, "dimension"))
    # solvent: compound column says "... DMSO-d6"
    assert info["solvent"].lower() == "dmso-d6"
    assert "dmso-d6" in ROWS[row]["compound_or_sample"].lower()


def test_proton_frequency_is_399_782198_mhz():
    info = json.loads(run_cli("info", "--json", PROTON).stdout)
    origin_hz = _number(fact(PROTON_ROW, "originFrequency[0]"))
    assert info["spectrometer_frequency_mhz"] == pytest.approx(origin_hz / 1e6, abs=1e-9)
    assert round(info["spectrometer_frequency_mhz"], 6) == 399.782198


def test_carbon_frequency_matches_the_mnova_export():
    ds = read(CARBON)
    observe = float(re.search(r"OBSERVE FREQUENCY=([0-9.]+)", ROWS[CARBON_ROW]["facts"])
                    .group(1))
    assert ds.metadata["spectrometer_frequency_mhz"] == pytest.approx(observe, abs=1e-9)


def test_proton_parameters_in_si_units():
    ds = read(PROTON)
    fid = ds.items[0]
    params = fid.metadata["vendor"]["parameters"]
    assert params["scans"] == int(fact(PROTON_ROW, "numberOfScans"))
    assert params["relaxation_delay"] == pytest.approx(
        _number(fact(PROTON_ROW, "relaxationTime")))
    # x90 is stored as 6.618 with the SI prefix "micro"
    assert params["x90"] == pytest.approx(_number(fact(PROTON_ROW, "pulseStrength90")))
    assert fid.carrier_ppm == pytest.approx(_number(fact(PROTON_ROW, "frequencyOffset[0]")))
    assert params["x_acq_time"] == pytest.approx(_number(fact(PROTON_ROW, "acquisitionTime")))
    head = ds.metadata["header"]
    assert head["data_axis_start"] == pytest.approx(_number(fact(PROTON_ROW, "dataAxisStart")))
    assert head["data_axis_stop"] == pytest.approx(_number(fact(PROTON_ROW, "dataAxisStop")))
    assert head["data_offset_start"] == int(fact(PROTON_ROW, "dataOffsetStart"))
    assert head["data_offset_stop"] == int(fact(PROTON_ROW, "dataOffsetStop"))
    assert head["data_axis_type"] == fact(PROTON_ROW, "dataAxisType").lower()
    # sweep width and points agree with the acquisition time
    assert fid.points / fid.sw_hz == pytest.approx(params["x_acq_time"])


def test_carbon_re_im_lengths():
    fid = read(CARBON).items[0]
    assert fid.points == int(re.search(r"re/im length (\d+)", ROWS[CARBON_ROW]["facts"])
                             .group(1))
    assert fid.nucleus == "13C"


@pytest.mark.parametrize("path", [PROTON, CARBON])
def test_group_delay_from_filter_orders_matches_the_data(path):
    fid = read(path).items[0]
    params = fid.metadata["vendor"]["parameters"]
    assert fid.group_delay == pytest.approx(group_delay_points(params))
    assert 10 < fid.group_delay < 40
    # the digital filter's build-up: the FID jumps to full size at ceil(group delay)
    mag = np.abs(fid.data[:80])
    first_big = int(np.argmax(mag > 0.5 * mag.max()))
    assert first_big == int(np.ceil(fid.group_delay))


def test_group_delay_accepts_both_parameter_spellings():
    assert group_delay_points({"orders": "2 54 73", "factors": "8  2"}) == pytest.approx(
        ((54 - 1) / 16 + (73 - 1) / 2) / 2)
    assert group_delay_points({"orders": "25473", "factors": "82"}) == pytest.approx(19.65625)
    assert group_delay_points({}) == 0.0
    assert group_delay_points({"orders": "x", "factors": "8"}) == 0.0


def test_same_data_as_nmrglue_where_nmrglue_has_a_jeol_reader():
    """nmrglue >= 0.12 reads 1-D JDF too; our complex data must be identical."""
    import nmrglue as ng

    if not hasattr(ng, "jeol"):  # nmrglue < 0.12 (allowed by pyproject): the reason we parse
        assert tuple(int(v) for v in ng.__version__.split(".")[:2]) < (0, 12)
        return
    dic, data = ng.jeol.read(str(PROTON))
    fid = read(PROTON).items[0]
    np.testing.assert_array_equal(fid.data, data)
    # why our own parser: nmrglue does not apply the SI prefix of x90 (micro)
    assert dic["parameters"]["x90"] == pytest.approx(6.618)
    assert fid.metadata["vendor"]["parameters"]["x90"] == pytest.approx(6.618e-6)


def test_processed_spectrum_is_referenced_to_dmso_and_positive():
    spec = nmr.process_default(read(PROTON).items[0])
    # raw JDF has no operator reference: residual DMSO-d5 (2.50 ppm) is used
    assert spec.metadata["referenced"] == "solvent"
    y = spec.intensities
    assert y.min() > -0.05 * y.max()
    window = (spec.axis > 2.4) & (spec.axis < 2.6)
    assert spec.axis[window][np.argmax(y[window])] == pytest.approx(2.50, abs=0.01)


def test_cli_peaks_13c_has_dmso_septet():
    proc = run_cli("peaks", "--json", CARBON)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["nucleus"] == "13C"
    positions = np.array([p["position"] for p in out["peaks"]])
    assert np.sum(np.abs(positions - 39.52) < 0.7) >= 5  # DMSO-d6 septet, J(C,D) = 21 Hz


def test_header_parser_rejects_short_buffers():
    with pytest.raises(ValueError, match="1360-byte"):
        parse_header(b"JEOL.NMR" + b"\0" * 100)


def test_sniff_is_by_magic_not_extension(tmp_path):
    fake = tmp_path / "fake.jdf"
    fake.write_bytes(b"not a jeol file at all" * 10)
    assert all(d.name != "jeol" for d in claimants(fake))
    assert find_driver(PROTON).name == "jeol"


@pytest.mark.parametrize("keep", [500, 14000, 300000])
def test_truncated_jdf_is_corrupt(tmp_path, keep):
    bad = tmp_path / "truncated.jdf"
    bad.write_bytes(PROTON.read_bytes()[:keep])
    with pytest.raises(CorruptDataError) as info:
        read(bad)
    assert str(bad) in str(info.value)
