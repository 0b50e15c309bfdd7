"""The phase controller: runs the phases of a tick in order and counts its cycles.

The phases are those of ``plasticore.hdl.core`` (its module docstring describes each). The
controller only sequences: it pulses a ``start_*`` strobe to begin a phase's engines, waits for
the phase's ``*_done`` condition, and reports the current phase on ``phase``, which the core
uses to route its memories to the engines of that phase. The cycle count it reports is the
number of cycles ``ctl.busy`` is high, which ``plasticore.contract.cycles`` predicts exactly.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.cycles import slowest_tick, tick_counter_bits
from plasticore.golden.config import Config

from .bus import TickControl

__all__ = ["Phase", "PhaseController"]


class Phase(enum.Enum, shape=3):
    """The phases of a tick, in the order they run."""

    IDLE = 0
    ACCUMULATE = 1
    NEURON = 2
    READOUT = 3
    OUTPUT = 4
    LEARN_W = 5
    LEARN_OUT = 6
    FINISH = 7


class PhaseController(wiring.Component):
    """The finite state machine of a tick.

    ``IDLE -> ACCUMULATE -> NEURON -> READOUT -> OUTPUT`` then, when the tick learns,
    ``LEARN_W`` (and ``LEARN_OUT`` when the readout learns after the hidden rows), then
    ``FINISH -> IDLE``. The hidden rows start learning as NEURON ends (``start_learn_w``);
    with weight banks the readout learns alongside them in LEARN_W (``start_learn_out`` as
    OUTPUT ends), else in LEARN_OUT of its own.

    Parameters
    ----------
    cfg : Config
        The core's configuration (the counter widths; ``weight_banks`` decides the learning
        phases, with the run-time register ``learn_readout``).
    formal : bool
        Add the formal property (docs/reliability.md, "Formal"): a tick lasts at most the
        cycle model's slowest tick (every input, neuron and error active, every row learning).

    Members
    -------
    ctl : In(TickControl())
        The host's tick controls (start, valid, learn; busy, done, cycles, ticks).
    phase : Out(Phase)
        The current phase.
    valid, learn : Out(1)
        The tick's targets are valid; the tick learns (both sampled with ``ctl.start``).
    start_tick : Out(1)
        Pulse: a tick starts (ACCUMULATE is next).
    start_neuron, start_readout, start_output : Out(1)
        Pulse: the phase of that name is next.
    start_learn_w : Out(1)
        Pulse: the hidden rows may start learning (g and the traces are final).
    start_learn_out : Out(1)
        Pulse: the readout rows may start learning.
    finish : Out(1)
        High in FINISH (the last cycle of a tick).
    accumulate_done, neuron_done, readout_done, output_done : In(1)
        The engines of the phase of that name have finished.
    learn_w_done, learn_out_done : In(1)
        The learning engines of LEARN_W (the readout's too, when it learns there), and of
        LEARN_OUT, have finished.
    learn_readout : In(1)
        The readout learns on learning ticks (a run-time register; reset value the config's).
    """

    def __init__(self, cfg: Config, *, formal: bool = False):
        self.cfg = cfg
        self.formal = formal
        super().__init__(
            {
                "ctl": In(TickControl()),
                "phase": Out(Phase),
                "valid": Out(1),
                "learn": Out(1),
                "start_tick": Out(1),
                "start_neuron": Out(1),
                "start_readout": Out(1),
                "start_output": Out(1),
                "start_learn_w": Out(1),
                "start_learn_out": Out(1),
                "finish": Out(1),
                "accumulate_done": In(1),
                "neuron_done": In(1),
                "readout_done": In(1),
                "output_done": In(1),
                "learn_readout": In(1, init=int(cfg.learn_readout)),
                "learn_w_done": In(1),
                "learn_out_done": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        # the readout learns inside LEARN_W with weight banks (on LFSR lanes of its own)
        concurrent_readout = cfg.weight_banks > 1
        # (as wide as any real tick needs: plasticore.contract.cycles.tick_counter_bits;
        # ctl.cycles is 32 bits)
        count = Signal(tick_counter_bits(cfg))
        cycles = Signal(tick_counter_bits(cfg))
        ticks = Signal(32)
        idle = self.phase == Phase.IDLE
        m.d.comb += [
            self.ctl.busy.eq(~idle),
            self.ctl.done.eq(self.finish),
            self.ctl.cycles.eq(cycles),
            self.ctl.ticks.eq(ticks),
        ]
        with m.If(~idle):
            m.d.sync += count.eq(count + 1)

        with m.FSM(init="IDLE", name="phase_fsm"):
            with m.State("IDLE"):
                m.d.comb += self.phase.eq(Phase.IDLE)
                with m.If(self.ctl.start):
                    m.d.comb += self.start_tick.eq(1)
                    m.d.sync += [
                        self.valid.eq(self.ctl.valid),
                        self.learn.eq(self.ctl.learn & self.ctl.valid),
                        count.eq(0),
                    ]
                    m.next = "ACCUMULATE"

            with m.State("ACCUMULATE"):
                m.d.comb += self.phase.eq(Phase.ACCUMULATE)
                with m.If(self.accumulate_done):
                    m.d.comb += self.start_neuron.eq(1)
                    m.next = "NEURON"

            with m.State("NEURON"):
                m.d.comb += self.phase.eq(Phase.NEURON)
                with m.If(self.neuron_done):
                    m.d.comb += [self.start_readout.eq(1), self.start_learn_w.eq(self.learn)]
                    m.next = "READOUT"

            with m.State("READOUT"):
                m.d.comb += self.phase.eq(Phase.READOUT)
                with m.If(self.readout_done):
                    m.d.comb += self.start_output.eq(1)
                    m.next = "OUTPUT"

            with m.State("OUTPUT"):
                m.d.comb += self.phase.eq(Phase.OUTPUT)
                with m.If(self.output_done):
                    with m.If(self.learn):
                        if concurrent_readout:
                            m.d.comb += self.start_learn_out.eq(self.learn_readout)
                        m.next = "LEARN_W"
                    with m.Else():
                        m.next = "FINISH"

            with m.State("LEARN_W"):
                m.d.comb += self.phase.eq(Phase.LEARN_W)
                with m.If(self.learn_w_done):
                    if concurrent_readout:
                        m.next = "FINISH"
                    else:
                        with m.If(self.learn_readout):
                            m.d.comb += self.start_learn_out.eq(1)
                            m.next = "LEARN_OUT"
                        with m.Else():
                            m.next = "FINISH"

            with m.State("LEARN_OUT"):
                m.d.comb += self.phase.eq(Phase.LEARN_OUT)
                with m.If(self.learn_out_done):
                    m.next = "FINISH"

            with m.State("FINISH"):
                m.d.comb += [self.phase.eq(Phase.FINISH), self.finish.eq(1)]
                m.d.sync += [cycles.eq(count + 1), ticks.eq(ticks + 1)]
                m.next = "IDLE"
        if self.formal:
            # count is the tick's cycles so far, less one (FINISH reports count + 1)
            m.d.comb += Assert(idle | (count < slowest_tick(cfg)))
        return m
