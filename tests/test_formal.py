"""Formal properties of the components, proven with SymbiYosys (cosim/formal.py).

Each property is proven on the real component (``formal=True`` adds its ``Assert``
statements) and shown to FAIL on a mutant: the same component with the condition the property
guards removed (a subclass that elaborates the component, then overrides one signal with a
later assignment, or a helper replaced for the elaboration). docs/reliability.md ("Formal")
lists the properties, their proof kinds, depths and run times.
"""

from __future__ import annotations

import functools

import pytest
from amaranth.hdl import Assert, Assume, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring

from plasticore.contract.cycles import slowest_tick
from plasticore.contract.protocol_spec import MIN_FRAME_TIMEOUT, MIN_MAX_PAYLOAD, MIN_WATCHDOG, Status
from plasticore.contract.system_map import SystemMap
from plasticore.cosim.formal import FREE_DATAPATH, assume_no_reset, assume_stream_rules, prove
from plasticore.golden.config import Config
from plasticore.golden.numerics import signed_range, unsigned_range
from plasticore.hdl import controller, core, protocol, update
from plasticore.hdl.accumulate import RowAccumulator
from plasticore.hdl.arith import saturate
from plasticore.hdl.controller import PhaseController
from plasticore.hdl.core import Core
from plasticore.hdl.lfsr import GaloisLFSR
from plasticore.hdl.protocol import ProtocolEngine
from plasticore.hdl.reply_transmitter import ReplyTransmitter
from plasticore.hdl.update import RowUpdater


def harness(component):
    """A top module over ``component`` with the reset held low, and its inputs (free ports)."""
    m = Module()
    m.submodules.dut = component
    assume_no_reset(m)
    members = component.signature.flatten(component)
    inputs = [Value.cast(value) for _, member, value in members if member.flow == wiring.In]
    return m, inputs


def check(proof, expect: str):
    assert proof.status == expect, f"{proof}\n{proof.log}"
    return proof


# -- 1. an LFSR never reaches the all-zero state ----------------------------------------


class TapsRemoved(GaloisLFSR):
    """Mutant: the taps are never XORed in (a plain shift register, which empties)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.draw.eq(self.state >> 1)
        return m


@pytest.mark.parametrize("seed", [1, 0xDEADBEEF])
def test_lfsr_never_zero(seed):
    lfsr = GaloisLFSR(seed, formal=True)
    m, ports = harness(lfsr)
    check(prove(m, ports=ports, name="lfsr_never_zero", mode="prove", depth=1), "PASS")


def test_lfsr_never_zero_fails_without_taps():
    lfsr = TapsRemoved(1, formal=True)
    m, ports = harness(lfsr)
    proof = check(prove(m, ports=ports, name="lfsr_taps_removed", mode="prove", depth=2), "FAIL")
    assert any("lfsr.py" in where for where in proof.failed), proof.failed


# -- 2. saturating arithmetic never wraps -------------------------------------------------


def wrapping(x, bits, is_signed=True):
    """Mutant of ``saturate``: narrows without clamping (wraps)."""
    narrow = x[:bits]
    return narrow.as_signed() if is_signed else narrow


@pytest.mark.parametrize(
    "x_shape, bits, is_signed", [(signed(12), 8, True), (signed(12), 8, False), (unsigned(6), 8, True)]
)
def test_saturate_clamps(x_shape, bits, is_signed):
    """Every narrowing of the datapath goes through ``saturate``: it is the clamp, for every x."""
    x = Signal(x_shape, name="x")
    lo, hi = signed_range(bits) if is_signed else unsigned_range(bits)
    m = Module()
    out = Signal(signed(bits) if is_signed else unsigned(bits), name="out")
    m.d.comb += [out.eq(saturate(x, bits, is_signed)), Assert(out == Mux(x > hi, hi, Mux(x < lo, lo, x)))]
    check(prove(m, ports=[x], name="saturate", mode="prove", depth=1), "PASS")


UPDATERS = {
    "dsp": dict(multipliers="dsp"),
    "logic": dict(multipliers="logic"),
    "factored-pipelined": dict(multipliers="factored", gate_bits=2, pipelined=True),
}


def small_updater(kind, **extra):
    return RowUpdater(
        n_rows=2, words_per_row=2, lanes=2, weight_bits=4, post_bits=5, pre_bits=4, shift=3, **UPDATERS[kind], **extra
    )


@pytest.mark.parametrize("kind", list(UPDATERS))
def test_weight_update_saturates(kind):
    m, ports = harness(small_updater(kind, formal=True))
    check(prove(m, ports=ports, name=f"update_saturates_{kind}", mode="prove", depth=1), "PASS")


def test_weight_update_fails_when_it_wraps(monkeypatch):
    monkeypatch.setattr(update, "saturate", wrapping)
    m, ports = harness(small_updater("dsp", formal=True))
    proof = check(prove(m, ports=ports, name="update_wraps", mode="prove", depth=3), "FAIL")
    assert any("update.py" in where for where in proof.failed), proof.failed


def small_accumulator(acc_bits, factor_bits, formal=True):
    return RowAccumulator(
        n_rows=4, words_per_row=2, lanes=2, weight_bits=4, acc_bits=acc_bits, factor_bits=factor_bits, formal=formal
    )


# the widths of Config.in_acc_bits (w_bits + log2 rows) and fb_acc_bits (+ e_bits)
@pytest.mark.parametrize("acc_bits, factor_bits", [(4 + 2, None), (4 + 3 + 2, 3)])
def test_accumulate_never_wraps(acc_bits, factor_bits):
    m, ports = harness(small_accumulator(acc_bits, factor_bits))
    check(prove(m, ports=ports, name="accumulate_exact", mode="prove", depth=1), "PASS")


def test_accumulate_fails_one_bit_short():
    m, ports = harness(small_accumulator(4 + 2 - 1, None))
    proof = check(prove(m, ports=ports, name="accumulate_short", mode="prove", depth=1), "FAIL")
    assert any("accumulate.py" in where for where in proof.failed), proof.failed


# -- 3. streams: valid held with its payload until ready -------------------------------------

FORMAL_CFG = Config(name="formal", n_in=2, n_rec=2, n_alif=0, n_out=1, lanes=1)
SMAP = SystemMap(FORMAL_CFG, window=1, max_payload=MIN_MAX_PAYLOAD)


class PayloadNotHeld(ReplyTransmitter):
    """Mutant: the reply byte comes from a live input, not from the output register."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.tx.payload.eq(self.request.tag)
        return m


def test_reply_stream_holds_until_ready():
    m, ports = harness(ReplyTransmitter(SMAP, formal=True))
    check(prove(m, ports=ports, name="reply_stream", mode="prove", depth=1), "PASS")


def test_reply_stream_fails_when_payload_not_held():
    m, ports = harness(PayloadNotHeld(SMAP, formal=True))
    proof = check(prove(m, ports=ports, name="reply_stream_mutant", mode="prove", depth=4), "FAIL")
    assert any("properties.py" in where for where in proof.failed), proof.failed


# -- 4. the protocol engine: no commit from a bad frame, a refused frame answered at once ----

ENGINE_DEPTH = 15  # cycles: frames of up to 13 bytes (WRITE_REG, RUN, CLEAR_MEM) and their commits
DEEP_ENGINE_DEPTH = 20  # and WRITE_MEM's first word
PROGRESS_DEPTH = 26  # a NOP frame (8 cycles) and the stall bound after it, with the short waits
DEEP_PROGRESS_DEPTH = 40  # and a RUN with its copies, tick and reply


class CrcIgnored(ProtocolEngine):
    """Mutant: the receiver sees a zero CRC residue whatever the bytes (the CRC check removed)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.receiver.crc.next.eq(0)
        return m


class VerdictIgnored(ProtocolEngine):
    """Mutant: the sequencer takes every frame with a good CRC as checked (command, length and
    range checks removed)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.sequencer.check.eq(Status.OK)
        return m


class NeverDispatched(ProtocolEngine):
    """Mutant: the sequencer never hears that a frame ended (it is never answered)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.sequencer.received.eq(0)
        return m


class TimeoutIgnored(ProtocolEngine):
    """Mutant: the receiver's wait timer never expires (the frame timeout removed)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.receiver.timer.expired.eq(0)
        return m


#: FRAME_TIMEOUT and WATCHDOG of the timing proofs: their minimums (64, 16 cycles) would need a
#: depth out of reach, and the RTL is the same for any value (the registers' reset values)
SHORT_WAIT = 4


def engine_proof(engine_class, group, depth, monkeypatch=None):
    waits = (MIN_FRAME_TIMEOUT, MIN_WATCHDOG)
    if monkeypatch is not None:
        monkeypatch.setattr(protocol, "MIN_FRAME_TIMEOUT", SHORT_WAIT)
        monkeypatch.setattr(protocol, "MIN_WATCHDOG", SHORT_WAIT)
        waits = (SHORT_WAIT, SHORT_WAIT)
    engine = engine_class(SMAP, *waits, formal=(group,))
    m, ports = harness(engine)
    assume_stream_rules(m, engine.rx)
    # the host is quiet in the first cycle after reset: a sync byte then would load the frame
    # timer from the port's read register before its first read (docs/reliability.md)
    first = Signal(init=1, name="first_cycle")
    m.d.sync += first.eq(0)
    m.d.comb += Assume(~first | ~engine.rx.valid)
    return prove(m, ports=ports, name=f"engine_{group}_{engine_class.__name__}", mode="bmc", depth=depth)


@pytest.mark.parametrize("group", ["commit", "refused"])
def test_engine(group):
    check(engine_proof(ProtocolEngine, group, ENGINE_DEPTH), "PASS")


def test_engine_answers_a_truncated_frame(monkeypatch):
    check(engine_proof(ProtocolEngine, "truncated", ENGINE_DEPTH, monkeypatch), "PASS")


def test_engine_never_deadlocks(monkeypatch):
    """Meaningful only deeper than a frame plus the stall bound (4 + 2 * 4 + 4 cycles)."""
    check(engine_proof(ProtocolEngine, "progress", PROGRESS_DEPTH, monkeypatch), "PASS")


@pytest.mark.slow
def test_engine_never_deadlocks_deep(monkeypatch):
    check(engine_proof(ProtocolEngine, "progress", DEEP_PROGRESS_DEPTH, monkeypatch), "PASS")


def test_engine_never_deadlocks_fails_when_never_dispatched(monkeypatch):
    proof = check(engine_proof(NeverDispatched, "progress", PROGRESS_DEPTH, monkeypatch), "FAIL")
    assert any("frame_observer.py" in where for where in proof.failed), proof.failed


@pytest.mark.parametrize(
    "mutant, group",
    [
        (CrcIgnored, "commit"),
        (VerdictIgnored, "commit"),
        (NeverDispatched, "refused"),
        (TimeoutIgnored, "truncated"),
    ],
)
def test_engine_fails_when_a_check_is_removed(mutant, group, monkeypatch):
    short_waits = monkeypatch if group == "truncated" else None
    proof = check(engine_proof(mutant, group, ENGINE_DEPTH, short_waits), "FAIL")
    assert any("frame_observer.py" in where for where in proof.failed), proof.failed


@pytest.mark.slow
def test_engine_commits_only_good_frames_deep():
    check(engine_proof(ProtocolEngine, "commit", DEEP_ENGINE_DEPTH), "PASS")


# -- 5. the phase controller ends every tick within the cycle model's slowest tick -----------

CORE_DEPTH = 40  # host writes of x, z(t-1) and e(t-1), then the slowest tick (32 cycles)


class AccumulateNeverDone(Core):
    """Mutant: the controller never hears that ACCUMULATE is done (the tick never ends)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.controller.accumulate_done.eq(0)
        return m


def core_proof(core_class, monkeypatch):
    monkeypatch.setattr(core, "PhaseController", functools.partial(PhaseController, formal=True))
    m, ports = harness(core_class(FORMAL_CFG))
    return prove(
        m, ports=ports, name=f"tick_bound_{core_class.__name__}", mode="bmc", depth=CORE_DEPTH, script=FREE_DATAPATH
    )


@pytest.mark.slow
def test_tick_ends_within_the_cycle_model(monkeypatch):
    assert slowest_tick(FORMAL_CFG) == 32  # the bound CORE_DEPTH leaves room for
    check(core_proof(Core, monkeypatch), "PASS")


@pytest.mark.slow
def test_tick_bound_fails_when_a_phase_never_ends(monkeypatch):
    proof = check(core_proof(AccumulateNeverDone, monkeypatch), "FAIL")
    assert any("controller.py" in where for where in proof.failed), proof.failed


@pytest.mark.slow
def test_tick_bound_is_tight(monkeypatch):
    """One cycle less than the model's slowest tick fails: the proof reaches the slowest tick."""
    monkeypatch.setattr(controller, "slowest_tick", lambda cfg: slowest_tick(cfg) - 1)
    proof = check(core_proof(Core, monkeypatch), "FAIL")
    assert any("controller.py" in where for where in proof.failed), proof.failed
