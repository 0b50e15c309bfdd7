"""cocotb bench: the cosim suite against every mutant of one mutated core (``plasticore.cosim.mutation``).

Reads the spec (config, scenarios, mutant numbers) named by ``PLASTICORE_MUTATION_SPEC``, and
appends one JSON line per mutant to ``PLASTICORE_MUTATION_OUT`` as soon as it is judged, so
that a long run's progress can be followed and a cut-short run keeps what it found.

For each mutant: ``mutsel`` set, then each scenario from a reset (the learning LFSRs at their
seeds, as golden starts them) and a cleared state (the state and trace memories written to
zero: a reset leaves memories as they are), run by
:func:`plasticore.cosim.compare.lockstep` up to its first difference, then the core's tick
counter checked (the System's TICKS register). The clean design
(``mutsel`` 0) runs first, to measure each scenario's simulated time (a mutant gets three
times that before it counts as hung), and last, to show that a mutant leaves nothing behind;
either run finding a difference fails the bench.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time

from plasticore.contract.geometry import Geometry
from plasticore.cosim.compare import clear_state, lockstep
from plasticore.cosim.driver import CoreDriver
from plasticore.cosim.tb_core import CocotbPort
from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters

#: a mutant gets this many times the clean design's simulated time per scenario, plus a margin
BUDGET_FACTOR, BUDGET_MARGIN_NS = 3, 100_000


async def _reset(dut, port: CocotbPort, mutant: int) -> None:
    dut.mutsel.value = mutant
    dut.rst.value = 1
    await port._cycle()
    await port._cycle()
    dut.rst.value = 0
    await port._cycle()


async def _judge(dut, port, driver, cfg, scenarios, stimuli, mutant, budgets) -> dict:
    """Run every scenario on ``mutant``; the first difference (or hang, or error) kills it."""
    for i, sc in enumerate(scenarios):
        port.take_faults()  # a handshake fault belongs to the scenario it happened in
        await _reset(dut, port, mutant)  # each scenario from reset: golden starts the LFSRs anew
        await clear_state(driver)
        w = Weights(*(stimuli[f"{i}_{k}"] for k in ("w_in", "w_rec", "w_out", "b_fb")))
        run = lockstep(
            cfg,
            driver,
            w,
            stimuli[f"{i}_x"],
            stimuli[f"{i}_targets"],
            stimuli[f"{i}_valid"],
            learn=sc["learn"],
            weights_every=sc["weights_every"],
            stop_at_first=True,
            registers={
                int(t): LearningRegisters.from_words(cfg, [int(v) for v in words])
                for t, words in zip(stimuli[f"{i}_register_ticks"], stimuli[f"{i}_register_words"], strict=True)
            },
        )
        try:
            report = await (run if budgets is None else with_timeout(run, budgets[i], "ns"))
        except SimTimeoutError:
            return {"verdict": "hang", "scenario": sc["name"], "detail": f"not done after {budgets[i]} ns"}
        except Exception as exc:  # what the mutant returned broke the comparison itself
            return {"verdict": "error", "scenario": sc["name"], "detail": f"{type(exc).__name__}: {exc}"}
        if report.first is not None:
            return {"verdict": "killed", "scenario": sc["name"], "detail": str(report.first)}
        # the tick counter (the System's TICKS register, which tests/test_host_sim.py checks)
        counted = int(dut.ctl__ticks.value)
        if counted != sc["ticks"]:
            return {"verdict": "killed", "scenario": sc["name"], "detail": f"ctl.ticks {counted} != {sc['ticks']}"}
    return {"verdict": "survived", "scenario": "", "detail": ""}


@cocotb.test()
async def mutants_against_golden(dut):
    spec = json.loads(Path(os.environ["PLASTICORE_MUTATION_SPEC"]).read_text())
    out = Path(os.environ["PLASTICORE_MUTATION_OUT"])
    cfg = Config.from_dict(spec["config"])
    scenarios = spec["scenarios"]
    stimuli = dict(np.load(spec["stimuli"]))
    g = Geometry(cfg)
    Clock(dut.clk, 10, unit="ns").start(start_high=False)
    for name in ("bus__we", "bus__re", "ctl__start", "ctl__valid", "ctl__learn", "mutsel"):
        getattr(dut, name).value = 0
    port = CocotbPort(dut)
    driver = CoreDriver(g, port)

    # the clean design: every scenario must pass; its simulated times set the budgets
    budgets = []
    for i, _sc in enumerate(scenarios):
        start = get_sim_time("ns")
        verdict = await _judge(dut, port, driver, cfg, scenarios[i : i + 1], _one(stimuli, i), 0, None)
        assert verdict["verdict"] == "survived", f"the clean design fails the suite: {verdict}"
        budgets.append(int(BUDGET_FACTOR * (get_sim_time("ns") - start) + BUDGET_MARGIN_NS))
    dut._log.info("budgets (ns) per scenario: %s", budgets)

    with out.open("a") as f:
        for mutant in spec["mutants"]:
            verdict = await _judge(dut, port, driver, cfg, scenarios, stimuli, mutant, budgets)
            f.write(json.dumps({"mutant": mutant, **verdict}) + "\n")
            f.flush()
        verdict = await _judge(dut, port, driver, cfg, scenarios, stimuli, 0, budgets)
        assert verdict["verdict"] == "survived", f"the clean design fails after the mutants: {verdict}"
        f.write(json.dumps({"mutant": 0, **verdict}) + "\n")


def _one(stimuli: dict, i: int) -> dict:
    """Scenario ``i``'s stimulus arrays renumbered as scenario 0."""
    prefix = f"{i}_"
    return {"0_" + k[len(prefix) :]: v for k, v in stimuli.items() if k.startswith(prefix)}
