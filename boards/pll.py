"""PLL settings for the board clocks, computed here instead of by icepll/ecppll/gowin_pll.

All searches return the reachable output frequency closest to the request (never above it)
within the datasheet limits, so a board top can derive its UART divisor and timing constraint
from the frequency it really gets.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ICE40PLL", "ECP5PLL", "GowinPLL", "ice40_pll", "ecp5_pll", "gowin_pll"]


@dataclass(frozen=True)
class ICE40PLL:
    """SB_PLL40 settings: f_out = f_in * (DIVF+1) / ((DIVR+1) * 2**DIVQ)."""

    divr: int
    divf: int
    divq: int
    filter_range: int
    f_out: float


def ice40_pll(f_in: float, f_req: float) -> ICE40PLL:
    """iCE40 LP/HX/UP PLL (SIMPLE feedback): PFD 10-133 MHz, VCO 533-1066 MHz, out 16-275 MHz."""
    best = None
    for divr in range(16):
        f_pfd = f_in / (divr + 1)
        if not 10e6 <= f_pfd <= 133e6:
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not 533e6 <= f_vco <= 1066e6:
                continue
            for divq in range(1, 7):
                f_out = f_vco / (1 << divq)
                if 16e6 <= f_out <= f_req and (best is None or f_out > best.f_out):
                    # filter range from the PFD frequency (icepll's table)
                    bounds = (17e6, 26e6, 44e6, 66e6, 101e6)
                    filter_range = 1 + sum(f_pfd >= b for b in bounds)
                    best = ICE40PLL(divr, divf, divq, filter_range, f_out)
    if best is None:
        raise ValueError(f"no iCE40 PLL setting reaches {f_req / 1e6:g} MHz from {f_in / 1e6:g} MHz")
    return best


@dataclass(frozen=True)
class ECP5PLL:
    """EHXPLLL settings: f_out = f_in * CLKFB_DIV / CLKI_DIV, VCO = f_out * CLKOP_DIV."""

    clki_div: int
    clkfb_div: int
    clkop_div: int
    f_out: float

    @property
    def clkop_cphase(self) -> int:
        return self.clkop_div - 1


def ecp5_pll(f_in: float, f_req: float) -> ECP5PLL:
    """ECP5 PLL (feedback from CLKOP): PFD 3.125-400 MHz, VCO 400-800 MHz, out 3.125-400 MHz."""
    best = None
    for clki_div in range(1, 129):
        f_pfd = f_in / clki_div
        if not 3.125e6 <= f_pfd <= 400e6:
            continue
        for clkfb_div in range(1, 81):
            f_out = f_pfd * clkfb_div
            if not 3.125e6 <= f_out <= min(f_req, 400e6):
                continue
            for clkop_div in range(1, 129):
                if 400e6 <= f_out * clkop_div <= 800e6:
                    if best is None or f_out > best.f_out:
                        best = ECP5PLL(clki_div, clkfb_div, clkop_div, f_out)
                    break
    if best is None:
        raise ValueError(f"no ECP5 PLL setting reaches {f_req / 1e6:g} MHz from {f_in / 1e6:g} MHz")
    return best


@dataclass(frozen=True)
class GowinPLL:
    """rPLL settings: f_out = f_in * (FBDIV_SEL+1) / (IDIV_SEL+1), VCO = f_out * ODIV_SEL."""

    idiv_sel: int
    fbdiv_sel: int
    odiv_sel: int
    f_out: float


#: the rPLL's output divider takes only these values
GOWIN_ODIVS = (2, 4, 8, 16, 32, 48, 64, 80, 96, 112, 128)


def gowin_pll(f_in: float, f_req: float) -> GowinPLL:
    """GW2A(R)-18 C8/I7 rPLL: PFD 3-500 MHz, VCO 500-1250 MHz, out 3.90625-625 MHz
    (the limits of apycula's ``gowin_pll`` for this part)."""
    best = None
    for idiv_sel in range(64):
        f_pfd = f_in / (idiv_sel + 1)
        if not 3e6 <= f_pfd <= 500e6:
            continue
        for fbdiv_sel in range(64):
            f_out = f_in * (fbdiv_sel + 1) / (idiv_sel + 1)
            if not 3.90625e6 <= f_out <= min(f_req, 625e6) or (best is not None and f_out <= best.f_out):
                continue
            odiv = next((d for d in GOWIN_ODIVS if 500e6 <= f_out * d <= 1250e6), None)
            if odiv is not None:
                best = GowinPLL(idiv_sel, fbdiv_sel, odiv, f_out)
    if best is None:
        raise ValueError(f"no Gowin rPLL setting reaches {f_req / 1e6:g} MHz from {f_in / 1e6:g} MHz")
    return best
