"""Boards: PLL settings, report parsing, and one real synthesis (the smoke test of make test).

The full synthesis of every board with the reckon configuration is behind the ``slow``
marker (``make bench``); here one small configuration goes through yosys and nextpnr.
"""

import json

import pytest

from plasticore.boards.gowin import chipdb_family
from plasticore.boards.platforms import BOARDS, board
from plasticore.boards.pll import GOWIN_ODIVS, ecp5_pll, gowin_pll, ice40_pll
from plasticore.boards.synth import BITSTREAM_NAME, build_overrides, parse_report, parse_utilisation_log, synthesize
from plasticore.boards.top import BoardTop
from plasticore.golden import Config, preset


def test_ice40_pll_matches_icepll_for_the_icebreaker():
    # icepll -i 12 -o 24: DIVR 0, DIVF 63, DIVQ 5, FILTER_RANGE 1 (VCO 768 MHz)
    p = ice40_pll(12e6, 24e6)
    assert (p.divr, p.divf, p.divq, p.filter_range) == (0, 63, 5, 1)
    assert p.f_out == 24e6


@pytest.mark.parametrize("f_in, f_req", [(12e6, 30e6), (25e6, 50e6), (25e6, 83e6), (48e6, 64e6)])
def test_plls_stay_within_datasheet_limits_and_below_the_request(f_in, f_req):
    p = ecp5_pll(f_in, f_req)
    assert p.f_out <= f_req and p.f_out > 0.9 * f_req
    assert 400e6 <= p.f_out * p.clkop_div <= 800e6
    assert 3.125e6 <= f_in / p.clki_div <= 400e6
    assert abs(f_in / p.clki_div * p.clkfb_div - p.f_out) < 1
    if f_in == 12e6:
        q = ice40_pll(f_in, f_req)
        assert 533e6 <= f_in / (q.divr + 1) * (q.divf + 1) <= 1066e6
        assert q.f_out <= f_req


def test_gowin_pll_matches_apycula_for_the_tang_nano_20k():
    # apycula's `gowin_pll -i 27 -o 18 -d GW2AR-LV18QN88C8/I7`: IDIV_SEL 2, FBDIV_SEL 1,
    # ODIV_SEL 32 (PFD 9 MHz, VCO 576 MHz)
    p = gowin_pll(27e6, 18e6)
    assert (p.idiv_sel, p.fbdiv_sel, p.odiv_sel, p.f_out) == (2, 1, 32, 18e6)


@pytest.mark.parametrize("f_req", [6e6, 13e6, 20e6, 24e6, 30e6, 54e6])
def test_gowin_pll_stays_within_datasheet_limits_and_below_the_request(f_req):
    p = gowin_pll(27e6, f_req)
    assert p.f_out <= f_req and p.f_out > 0.9 * f_req
    assert abs(27e6 * (p.fbdiv_sel + 1) / (p.idiv_sel + 1) - p.f_out) < 1
    assert 3e6 <= 27e6 / (p.idiv_sel + 1) <= 500e6
    assert p.odiv_sel in GOWIN_ODIVS and 500e6 <= p.f_out * p.odiv_sel <= 1250e6


def test_unreachable_clock_is_refused():
    with pytest.raises(ValueError, match="no iCE40 PLL setting"):
        ice40_pll(12e6, 5e6)


def test_parse_report_takes_utilization_and_the_slowest_clock():
    report = {
        "utilization": {
            "TRELLIS_COMB": {"used": 1200, "available": 83640},
            "TRELLIS_FF": {"used": 900, "available": 83640},
            "DP16KD": {"used": 12, "available": 208},
            "MULT18X18D": {"used": 4, "available": 156},
        },
        "fmax": {"core_clk": {"achieved": 71.5, "constraint": 50.0}, "other": {"achieved": 90.0, "constraint": 50.0}},
    }
    resources, fmax = parse_report(report, "ecp5")
    assert resources["luts"] == [1200, 83640] and resources["bram"] == [12, 208]
    assert resources["spram"] == [0, 0] and fmax == 71.5


def test_parse_report_counts_gowin_carries_as_luts_and_small_multipliers_in_18x18_units():
    cells = {"LUT4": (4109, 20736), "ALU": (1500, 15552), "DFF": (1414, 15552), "BSRAM": (2, 46)}
    cells |= {"MULT18X18": (9, 48), "MULT9X9": (3, 96), "RAM16SDP4": (92, 648)}
    report = {
        "utilization": {cell: {"used": u, "available": a} for cell, (u, a) in cells.items()},
        "fmax": {"clk": {"achieved": 40.2, "constraint": 27}},
    }
    resources, fmax = parse_report(report, "gowin")
    assert resources["luts"] == [4109 + 1500, 20736] and resources["ffs"] == [1414, 15552]
    assert resources["bram"] == [2, 46] and resources["dsp"] == [9 + 2, 48] and fmax == 40.2


def test_parse_utilisation_log_of_a_failed_placement():
    log = (
        "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:   14744/   5280   279%\n"
        "Info: \t        ICESTORM_RAM:      63/     30   210%\n"
    )
    res = parse_utilisation_log(log, "ice40")
    assert res["luts"] == [14744, 5280] and res["bram"] == [63, 30]


def test_every_board_names_a_platform():
    for name, b in BOARDS.items():
        assert board(name) is b
        assert b.make_platform().device
    with pytest.raises(ValueError, match="not supported"):
        board("de0-nano")


TINY = Config(name="tiny", n_in=4, n_rec=8, n_alif=2, n_out=2, lanes=2)


def test_small_synthesis_produces_a_bitstream_and_a_report(tmp_path):
    """One real run of yosys + nextpnr (ECP5, the tiny config): a bitstream and numbers."""
    result = synthesize(TINY, board("orangecrab-25f"), tmp_path, seed=3)
    assert result.log is None, result.log
    assert result.bitstream and (tmp_path / "plasticore.bit").stat().st_size > 0
    assert result.fits
    used, available = result.resources["luts"]
    assert 0 < used < available
    assert result.fmax_mhz and result.fmax_mhz > 1
    json.loads((tmp_path / "plasticore.nextpnr.json").read_text())
    # the board's own nextpnr options (router2 on ECP5) and the placement seed reach the
    # command that ran, and the yosys script hides the internal names (the ABC9 workaround)
    # ahead of synthesis
    command = (tmp_path / "build_plasticore.sh").read_text()
    assert "--router router2" in command and "--seed 3" in command
    script = (tmp_path / "plasticore.ys").read_text()
    assert script.index("rename -hide w:system.*") < script.index("synth_ecp5")


@pytest.mark.parametrize("clock_hz", [None, 18e6])
def test_tang_nano_20k_elaborates_into_the_himbaechel_flow(clock_hz):
    """The Gowin board without running a tool: pins, rPLL, and the three commands of the flow."""
    tang = board("tangnano20k")
    platform = tang.make_platform()
    top = BoardTop(TINY, tang, clock_hz)
    plan = platform.prepare(top, name=BITSTREAM_NAME, **build_overrides(tang, top.clock_hz, seed=3))
    files = plan.files
    # the BL616 bridge: FPGA TX on pin 69, RX on 70; the crystal on pin 4
    cst = files[f"{BITSTREAM_NAME}.cst"]
    for port, pin in (("clk27_0__io", 4), ("uart_0__tx__io", 69), ("uart_0__rx__io", 70), ("led_0__io", 15)):
        assert f'IO_LOC "{port}" {pin};' in cst
    assert "synth_gowin -family gw2a -top plasticore" in files[f"{BITSTREAM_NAME}.ys"]
    script = files[f"build_{BITSTREAM_NAME}.sh"]
    mhz = 27 if clock_hz is None else 18
    nextpnr = (
        f'"$NEXTPNR_HIMBAECHEL" --quiet --report plasticore.nextpnr.json --timing-allow-fail --freq {mhz} --seed 3 '
        "--log plasticore.tim --device GW2AR-LV18QN88C8/I7 --vopt family=GW2A-18C --vopt cst=plasticore.cst "
        "--json plasticore.syn.json --write plasticore.pnr.json"
    )
    assert nextpnr in script
    assert '"$GOWIN_PACK" -d GW2A-18C -o plasticore.fs plasticore.pnr.json' in script
    rtlil = files[f"{BITSTREAM_NAME}.il"]
    if clock_hz is None:  # the core runs on the crystal
        assert "rPLL" not in rtlil
    else:  # 27 MHz * 2 / 3 = 18 MHz: the UART divides it exactly
        assert "cell \\rPLL" in rtlil and "parameter \\IDIV_SEL 2" in rtlil and "parameter \\ODIV_SEL 32" in rtlil
    assert tang.bitstream_suffix == ".fs" and chipdb_family("GW2AR-18C") == "GW2A-18C"


@pytest.mark.slow
def test_gowin_synthesis_produces_a_bitstream(tmp_path):
    """One real run of the Gowin flow (yosys, nextpnr-himbaechel, gowin_pack; ~5 min of CPU)."""
    result = synthesize(TINY, board("tangnano20k"), tmp_path, seed=3)
    assert result.log is None, result.log
    assert result.fits and (tmp_path / "plasticore.fs").stat().st_size > 0
    assert 0 < result.resources["luts"][0] < result.resources["luts"][1] == 20736
    assert result.fmax_mhz and result.timing_met


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BOARDS))
@pytest.mark.parametrize("config", ["small", "reckon"])
def test_full_synthesis(name, config, tmp_path):
    result = synthesize(preset(config), board(name), tmp_path)
    assert result.resources, result.log  # a report, whether or not it fits


def test_dfu_suffix_matches_the_dfu_1_1_layout(tmp_path):
    import struct
    import zlib

    from plasticore.boards.dfu_suffix import dfu_suffix, main

    out = dfu_suffix(b"bitstream", vendor=0x1209, product=0x5AF0)
    assert out[:9] == b"bitstream" and len(out) == 9 + 16
    device, product, vendor, bcd = struct.unpack("<HHHH", out[9:17])
    assert (device, product, vendor, bcd) == (0xFFFF, 0x5AF0, 0x1209, 0x0100)
    assert out[17:20] == b"UFD" and out[20] == 16
    # dfu-util checks: CRC-32 of everything before dwCRC, without the final inversion
    assert struct.unpack("<I", out[-4:])[0] == zlib.crc32(out[:-4]) ^ 0xFFFFFFFF
    f = tmp_path / "x.bit"
    f.write_bytes(b"abc")
    assert main(["-v", "1209", "-p", "5af0", "-a", str(f)]) == 0
    assert main(["-v", "1209", "-p", "5af0", "-a", str(f)]) == 1  # refuses a second suffix
