"""The run-time learning registers: the learning parameters the host writes between ticks.

One word per register of :data:`plasticore.golden.registers.REGISTER_FIELDS`, the core region
``params``. A write of a value outside the register's range (``register_ranges``) is ignored:
the register keeps its value, which a read back shows (the host driver refuses such a value
before it is sent). Reset values are the config's fields; with ``cfg.runtime_registers`` false
each register is the constant of its field.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.geometry import PARAM_WORD
from plasticore.golden.config import Config
from plasticore.golden.registers import REGISTER_FIELDS, LearningRegisters, register_ranges

__all__ = ["LearningRegisterFile"]


class LearningRegisterFile(wiring.Component):
    """Holds the run-time learning registers in flip-flops.

    Parameters
    ----------
    cfg : Config
        The core's configuration: the registers' reset values and ranges.

    Members
    -------
    word : In(range(len(REGISTER_FIELDS)))
        The register a write or read addresses.
    wdata : In(PARAM_WORD)
        The value to write.
    we : In(1)
        Write ``wdata`` into register ``word`` at the end of the cycle, if in range.
    rdata : Out(PARAM_WORD)
        The value of register ``word``.
    lr_shift, out_lr_shift : Out(range(33))
        The learning-rate shifts.
    learn_input, learn_recurrent, learn_readout : Out(1)
        The learning enables of Win, Wrec and Wout.
    threshold : Out(range(1, max + 1))
        The base firing threshold.
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.ranges = register_ranges(cfg)
        reset = LearningRegisters.of(cfg).words()
        ports = {
            "word": In(range(max(len(REGISTER_FIELDS), 2))),
            "wdata": In(PARAM_WORD),
            "we": In(1),
            "rdata": Out(PARAM_WORD),
        }
        for name, value in zip(REGISTER_FIELDS, reset, strict=True):
            lo, hi = self.ranges[name]
            ports[name] = Out(range(lo, hi + 1), init=value)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        for index, name in enumerate(REGISTER_FIELDS):
            lo, hi = self.ranges[name]
            reg = getattr(self, name)
            if lo == hi:  # a bitstream constant (runtime_registers false): no flip-flops
                m.d.comb += reg.eq(lo)
            else:
                with m.If(self.we & (self.word == index) & (self.wdata >= lo) & (self.wdata <= hi)):
                    m.d.sync += reg.eq(self.wdata)
            with m.If(self.word == index):
                m.d.comb += self.rdata.eq(reg)
        return m
