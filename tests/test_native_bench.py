"""The native bench (cosim/native_system.cpp): the simulated chip free-running in C++.

Training on it through the host driver ends with golden fixed point's weights bit for bit, and
(slow: it builds the cocotb model too) it answers every bench operation exactly as the cocotb
bench does: the same reply bytes, idle flags, cycle-limit flags and cycle counts.
"""

import dataclasses

import numpy as np
import pytest

from plasticore.chip_train import train_on_chip, weights_equal
from plasticore.contract.frame_codec import encode_request, mem_args
from plasticore.contract.protocol_spec import Command
from plasticore.cosim.host_transport import TEST_PARAMS, SimulatedTransport
from plasticore.cosim.stimulus import make_stimulus
from plasticore.golden import preset
from plasticore.host import Host
from plasticore.tasks.cue import cue_task
from plasticore.training.train import TASK_SPECS, train

CFG = preset("small")  # with TEST_PARAMS: the model test_host_sim.py builds too


def tiny_cue():
    """Cue accumulation on ``small``'s 16 inputs: 31 ticks a sample, across two RUN windows."""
    return cue_task(1, n_train=4, n_test=2, group=4, cues=3, cue_ticks=4, gap_ticks=2, delay_ticks=5, recall_ticks=8)


def test_training_on_the_native_bench_ends_with_golden_weights():
    task = tiny_cue()
    spec = dataclasses.replace(TASK_SPECS["cue"], anneal_every=None)
    golden = train(task, "eprop", "fixed", cfg=CFG, epochs=2, spec=spec)
    with Host.simulated(CFG, TEST_PARAMS, bench="native") as chip:
        assert chip.transport.bench == "native"
        rtl = train_on_chip(chip, task, spec, epochs=2)
    assert all(weights_equal(CFG, rtl.weights_after, golden.weights).values())
    assert rtl.curve[1:] == golden.curve  # the chip also scores the untrained network first
    learned = sum(
        int((getattr(rtl.weights_after, k) != getattr(rtl.weights_before, k)).sum()) for k in ("w_in", "w_out")
    )
    assert learned > 0, "no weight learned: the test would not notice a chip that ignores learning"


def test_native_bench_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="bench: 'native' runs on Verilator without waves"):
        SimulatedTransport(CFG, TEST_PARAMS, waves=True, bench="native")
    with pytest.raises(ValueError, match="bench: 'verilog' is not one of native, cocotb"):
        SimulatedTransport(CFG, TEST_PARAMS, bench="verilog")


def bench_answers(bench: str) -> list[tuple]:
    """Every bench operation of a session (identity, weights, a learning run over several
    windows, a truncated frame, cycle limits, line gaps) and its answer."""
    answers: list[tuple] = []
    tr = SimulatedTransport(CFG, TEST_PARAMS, bench=bench)
    plain_op = tr._op

    def recorded_op(op, n=0, cycles=0, data=b""):
        before = len(tr._rx)
        limit = plain_op(op, n, cycles, data)
        answers.append((op, n, cycles, data, limit, tr.idle, tr.cycles, bytes(tr._rx[before:])))
        return limit

    tr._op = recorded_op
    try:
        chip = Host(CFG, tr)
        st = make_stimulus(CFG, 3 * chip.window + 4, seed=3, rate=0.1, weight_scale=1.0)
        chip.load_weights(st.weights)
        chip.reset_state()
        chip.run_sequence(st.x, st.targets, np.ones(len(st.x), bool), learn=True)
        tr.write(encode_request(Command.READ_MEM, 7, mem_args(0, 0, 4))[:5])  # truncated
        tr.read(3, max_cycles=100)  # ends on the cycle limit
        tr.advance(17)
        tr.read_until_idle()  # the timeout's error reply
        tr.gap()
        tr.advance(1)
        tr.advance(0)
        chip.read_registers()  # CLOCK included
        chip.read_weights()
    finally:
        tr.close()
    return answers


@pytest.mark.slow
def test_native_bench_answers_as_the_cocotb_bench_does():
    native, cocotb = bench_answers("native"), bench_answers("cocotb")
    assert len(native) == len(cocotb) > 150
    for i, (a, b) in enumerate(zip(native, cocotb, strict=True)):
        assert a == b, f"operation {i}: native {a[:7]} != cocotb {b[:7]}"
