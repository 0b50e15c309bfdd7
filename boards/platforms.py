"""The supported boards: their amaranth-boards platform, family, clocks and serial pins.

Adding a board is adding a :class:`Board` to ``BOARDS``: everything else (top, synthesis,
report) reads it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from amaranth.build import Attrs
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
from amaranth_boards.resources import UARTResource
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from plasticore.contract.system_map import DEFAULT_WINDOW

from .gowin import TangNano20kPlatform

__all__ = ["Board", "BOARDS", "board"]


@dataclass(frozen=True)
class Board:
    """A supported board: its platform, FPGA family, clocks and synthesis options.

    Attributes
    ----------
    name : str
        Name on the command line.
    description : str
        Board and FPGA, for reports.
    make_platform : callable
        Makes the Amaranth platform (with the UART resource).
    family : str
        ``"ice40"``, ``"ecp5"`` or ``"gowin"``.
    input_clock_hz : float
        The oscillator on the board.
    default_clock_hz : float
        What the PLL makes of it for the core (below the Fmax nextpnr measures).
    n_leds : int
        LEDs the top drives.
    available : dict
        Resources available to the design, for the report.
    synth_opts : str
        Extra options of yosys's ``synth_<family>``.
    hide_internal_names : bool
        Make the design's internal wire names private before synthesis.
    nextpnr_opts : str
        Extra options of ``nextpnr-<family>`` (``nextpnr-himbaechel`` for Gowin).
    window : int
        Ticks of the protocol engine's run window.
    loader_args : tuple of str
        openFPGALoader's options that name the board (and so its cable): ``plasticore flash``.
    loader_sram : bool
        Whether openFPGALoader can load a bitstream into SRAM (lost at power-off); if not, it
        always writes the flash.
    """

    name: str
    description: str
    make_platform: Callable[[], object]
    family: str  # "ice40", "ecp5" or "gowin"
    input_clock_hz: float  # the oscillator on the board
    #: what the PLL makes of it for the core: below the Fmax nextpnr measures for the design
    #: (docs/performance.md, "Boards"), so that timing is met
    default_clock_hz: float
    n_leds: int
    #: resources available to the design, for the report's "available" column
    available: dict = field(default_factory=dict)
    #: extra options of yosys's ``synth_<family>`` (e.g. "-dsp": multipliers into DSP blocks)
    synth_opts: str = ""
    #: make the design's internal wire names private before synthesis (plasticore.boards.synth):
    #: ABC9's reintegration asserts on a name clash on some ECP5 netlists of ours; with private
    #: names it gets through
    hide_internal_names: bool = False
    #: extra options of ``nextpnr-<family>``: the ECP5 boards use router2, which routes the
    #: large configs where the default router1 stalls (docs/performance.md, "Boards")
    nextpnr_opts: str = ""
    #: ticks of the protocol engine's run window (register BUFFERS tells the host); a smaller
    #: window makes smaller tick buffers and sequencer counters
    window: int = DEFAULT_WINDOW
    #: openFPGALoader's options that name the board (``openFPGALoader --list-boards``; the names
    #: are case-sensitive): the cable and the FPGA come with it (``plasticore flash``)
    loader_args: tuple[str, ...] = ()
    #: openFPGALoader can load SRAM (``-m``, lost at power-off); False: it always writes flash
    loader_sram: bool = True

    @property
    def bitstream_suffix(self) -> str:
        """What the packer writes: ``.bin`` (icepack) for iCE40, ``.bit`` (ecppack) for ECP5,
        ``.fs`` (gowin_pack) for Gowin."""
        return {"ice40": ".bin", "ecp5": ".bit", "gowin": ".fs"}[self.family]


def _orangecrab():
    platform = OrangeCrabR0_2_25FPlatform()
    # no UART on the board: the Feather header's RX/TX pins (io 0 and 1) carry it
    platform.add_resources(
        [UARTResource(0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP"))]
    )
    return platform


BOARDS: dict[str, Board] = {
    "icebreaker": Board(
        "icebreaker",
        "iCEBreaker (Lattice iCE40UP5K-SG48)",
        ICEBreakerPlatform,
        "ice40",
        12e6,
        12e6,
        2,
        # the UP5K's eight MAC16s take the variable multipliers of a one-lane (P = 1) core
        # (a config with more multipliers than that does not fit the LCs anyway).
        # -dffe_min_ce_use 4: a clock enable shared by fewer than 4 flip-flops goes into their
        # LUTs instead of an enable flip-flop, which packs better (the ice40 preset needs it to fit)
        synth_opts="-dsp -dffe_min_ce_use 4",
        # 16 ticks per RUN: the tick buffers and the sequencer shrink
        window=16,
        # the FT2232H on the board: SPI to the iCE40 (SRAM) or to its flash
        loader_args=("-b", "ice40_generic"),
    ),
    "ulx3s-85f": Board(
        "ulx3s-85f",
        "ULX3S (Lattice ECP5 LFE5U-85F)",
        ULX3S_85F_Platform,
        "ecp5",
        25e6,
        20e6,
        2,
        hide_internal_names=True,
        nextpnr_opts="--router router2",
        # JTAG through the board's FT231X
        loader_args=("-b", "ulx3s"),
    ),
    "orangecrab-25f": Board(
        "orangecrab-25f",
        "OrangeCrab r0.2 (Lattice ECP5 LFE5U-25F)",
        _orangecrab,
        "ecp5",
        48e6,
        20e6,
        0,
        # multipliers in LUTs: the 25F has fewer DSPs than `small` wants, but LUTs enough
        synth_opts="-nodsp",
        hide_internal_names=True,
        nextpnr_opts="--router router2",
        # USB DFU to the board's bootloader (1209:5af0; hold the button while plugging in), which
        # writes the user bitstream into flash: there is no SRAM load
        loader_args=("-b", "orangeCrab"),
        loader_sram=False,
    ),
    "tangnano20k": Board(
        "tangnano20k",
        "Sipeed Tang Nano 20K (Gowin GW2AR-LV18QN88C8/I7)",
        TangNano20kPlatform,
        "gowin",
        27e6,
        27e6,
        2,
        synth_opts="-family gw2a",
        # the BL616 on the board: JTAG to the GW2AR (SRAM) or to its flash
        loader_args=("-b", "tangnano20k"),
    ),
}


def board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"board: {name!r} is not supported; boards are {', '.join(BOARDS)}") from None
