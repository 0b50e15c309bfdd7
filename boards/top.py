"""Board tops: a PLL, the UART on the board's serial pins, and the plasticore system.

The top is the same for every board; :mod:`plasticore.boards.platforms` says which pins carry the UART,
which PLL primitive the family has, and which clock the core runs at. LEDs show that the
design is alive (a slow blink) and that the protocol engine is busy.
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Instance, Module, ResetSignal, Signal
from amaranth.lib import io

from plasticore.contract.serial_line import BAUD
from plasticore.golden.config import Config
from plasticore.hdl.serial_system import RX_FIFO_DEPTH
from plasticore.hdl.system import System
from plasticore.hdl.uart import UART, divisor_for, frame_timeout_cycles

from .gowin import chipdb_family
from .pll import ecp5_pll, gowin_pll, ice40_pll

#: the submodule name of the core and its protocol engine (synthesis hides the wire names under it)
SYSTEM = "system"

__all__ = ["BoardTop", "BAUD"]


class BoardTop(Elaboratable):
    """The top of a board's design: PLL, UART on the serial pins, the system and LEDs.

    Parameters
    ----------
    cfg : :class:`~plasticore.golden.config.Config`
        The core's configuration.
    board : :class:`~plasticore.boards.platforms.Board`
        The board.
    clock_hz : float, optional
        Clock of the core (default: the board's ``default_clock_hz``); without a PLL if it is
        the input clock.

    Attributes
    ----------
    clock_hz : float
        The clock the core gets (the PLL's actual output).
    pll : PLL parameters or None
        The PLL's settings, None without a PLL.
    """

    def __init__(self, cfg: Config, board, clock_hz: float | None = None):
        self.cfg = cfg
        self.board = board
        self.f_in = board.input_clock_hz
        request = clock_hz if clock_hz is not None else board.default_clock_hz
        if request >= self.f_in * 0.999 and request <= self.f_in * 1.001:
            self.pll = None
            self.clock_hz = self.f_in
        else:
            search = {"ice40": ice40_pll, "ecp5": ecp5_pll, "gowin": gowin_pll}[board.family]
            self.pll = search(self.f_in, request)
            self.clock_hz = self.pll.f_out

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        clk = Signal(name="core_clk")  # a plain signal (not the domain's "clk") carries the constraint
        m.d.comb += ClockSignal("sync").eq(clk)
        clk_pin = platform.request(platform.default_clk, dir="-")
        if self.pll is None:
            m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_pin)
            m.d.comb += clk.eq(clk_buf.i)
            locked = Signal(init=1)
        elif self.board.family == "ice40":
            locked = Signal()
            p = self.pll
            m.submodules.pll = Instance(
                "SB_PLL40_PAD",
                p_FEEDBACK_PATH="SIMPLE",
                p_DIVR=p.divr,
                p_DIVF=p.divf,
                p_DIVQ=p.divq,
                p_FILTER_RANGE=p.filter_range,
                i_PACKAGEPIN=clk_pin.io,
                i_RESETB=1,
                i_BYPASS=0,
                o_PLLOUTGLOBAL=clk,
                o_LOCK=locked,
            )
        elif self.board.family == "gowin":
            locked = Signal()
            p = self.pll
            # the rPLL's feedback is internal and its dynamic dividers are off: the SEL
            # parameters alone set the clock
            m.submodules.pll = Instance(
                "rPLL",
                p_DEVICE=chipdb_family(platform.family),
                p_FCLKIN=f"{self.f_in / 1e6:g}",
                p_IDIV_SEL=p.idiv_sel,
                p_FBDIV_SEL=p.fbdiv_sel,
                p_ODIV_SEL=p.odiv_sel,
                p_DYN_IDIV_SEL="false",
                p_DYN_FBDIV_SEL="false",
                p_DYN_ODIV_SEL="false",
                p_CLKFB_SEL="internal",
                i_CLKIN=clk_pin.io,
                i_CLKFB=0,
                i_RESET=0,
                i_RESET_P=0,
                i_FBDSEL=0,
                i_IDSEL=0,
                i_ODSEL=0,
                i_PSDA=0,
                i_DUTYDA=0,
                i_FDLY=0,
                o_CLKOUT=clk,
                o_LOCK=locked,
            )
        else:
            locked = Signal()
            p = self.pll
            m.submodules.pll = Instance(
                "EHXPLLL",
                p_CLKI_DIV=p.clki_div,
                p_CLKFB_DIV=p.clkfb_div,
                p_CLKOP_DIV=p.clkop_div,
                p_CLKOP_CPHASE=p.clkop_cphase,
                p_CLKOP_FPHASE=0,
                p_CLKOP_ENABLE="ENABLED",
                p_FEEDBK_PATH="CLKOP",
                p_OUTDIVIDER_MUXA="DIVA",
                p_PLLRST_ENA="DISABLED",
                p_INTFB_WAKE="DISABLED",
                p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED",
                i_CLKI=clk_pin.io,
                i_CLKFB=clk,
                i_RST=0,
                i_STDBY=0,
                i_PHASESEL0=0,
                i_PHASESEL1=0,
                i_PHASEDIR=0,
                i_PHASESTEP=0,
                i_PHASELOADREG=0,
                i_PLLWAKESYNC=0,
                i_ENCLKOP=1,
                o_CLKOP=clk,
                o_LOCK=locked,
            )
        if self.pll is not None:
            # (without a PLL the core runs on the board clock, whose pin the platform already
            # constrains; core_clk is then only an alias that synthesis merges away)
            platform.add_clock_constraint(clk, self.clock_hz)
        # hold the design in reset until the PLL locks (and for a few cycles after)
        hold = Signal(4, init=15, reset_less=True)  # drives the reset, so it must not obey it
        m.d.comb += ResetSignal("sync").eq(hold != 0)
        with m.If(~locked):
            m.d.sync += hold.eq(15)
        with m.Elif(hold != 0):
            m.d.sync += hold.eq(hold - 1)

        uart_pins = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_buf = rx_buf = io.Buffer("i", uart_pins.rx)
        m.submodules.uart_tx_buf = tx_buf = io.Buffer("o", uart_pins.tx)
        m.submodules.uart = uart = UART(divisor_for(self.clock_hz, BAUD), rx_fifo_depth=RX_FIFO_DEPTH)
        m.submodules[SYSTEM] = system = System(
            self.cfg, window=self.board.window, frame_timeout=frame_timeout_cycles(self.clock_hz, BAUD)
        )
        m.d.comb += [uart.rx_pin.eq(rx_buf.i), tx_buf.o.eq(uart.tx_pin)]
        m.d.comb += [
            system.rx.payload.eq(uart.rx.payload),
            system.rx.valid.eq(uart.rx.valid),
            uart.rx.ready.eq(system.rx.ready),
            uart.tx.payload.eq(system.tx.payload),
            uart.tx.valid.eq(system.tx.valid),
            system.tx.ready.eq(uart.tx.ready),
        ]

        # alive: a ~1 Hz blink (a bit of the engine's CLOCK register, a free-running cycle
        # counter: the MSB of a counter of range(clock_hz)); busy: the engine handles a frame
        blink = system.clock[(int(self.clock_hz) - 1).bit_length() - 1]
        for index, value in enumerate((blink, ~system.idle)[: self.board.n_leds]):
            led = platform.request("led", index, dir="-")
            m.submodules[f"led{index}"] = led_buf = io.Buffer("o", led)
            m.d.comb += led_buf.o.eq(value)
        return m
