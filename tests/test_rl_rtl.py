"""The RL agents with the RTL in the loop: a few CartPole episodes of the chip's lsm-q and
eprop-ac on the RTL (Verilator, through the host driver and the simulated transport) take golden
fixed point's actions and end with its weights, bit for bit.

Small networks (40 inputs, 20 and 16 neurons) and short windows keep each run to a few seconds
once its model is built (about 100 s the first time, then cached by
plasticore.cosim.host_transport). The agents at full size, 10 episodes each, are in the slow set.
"""

import dataclasses

import numpy as np
import pytest

from plasticore.cosim.host_transport import TEST_PARAMS
from plasticore.golden.network import init_weights
from plasticore.host import Host
from plasticore.reference.lsm import LiquidSpec
from plasticore.rl_host import HostChip
from plasticore.training.rl_chip import ChipLsmQSettings, chip_liquid_config, run_chip_lsm_q
from plasticore.training.rl_chip_eprop import ChipEpropACSettings, chip_eprop_config, run_chip_eprop_ac

#: a liquid small enough for a fast test; a larger learning rate so that Wout moves visibly
SMALL = ChipLsmQSettings(
    liquid=LiquidSpec(n_neurons=20), window_ticks=6, replay_ticks=6, out_lr_shift=12, explore_steps=30
)
SEED = 2
#: an LSNN small enough for a fast test (12 LIF + 4 ALIF); larger steps so that Win/Wrec move
SMALL_AC = ChipEpropACSettings(
    n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, learn_ticks=2, lr_shift=10, out_lr_shift=10
)


@pytest.fixture(scope="module")
def chip():
    with Host.simulated(chip_liquid_config(SMALL, seed=SEED), TEST_PARAMS) as host:
        yield host


def test_rtl_in_the_loop_takes_golden_actions_and_ends_with_its_weights(chip):
    golden = run_chip_lsm_q(SEED, "v1", episodes=3, settings=SMALL)
    rtl = run_chip_lsm_q(SEED, "v1", episodes=3, settings=SMALL, chip_factory=HostChip.factory(chip))
    assert len(rtl.actions) == rtl.steps == sum(rtl.returns) > 20
    assert rtl.actions == golden.actions and rtl.returns == golden.returns
    for name in ("w_in", "w_rec", "w_out", "b_fb"):
        assert np.array_equal(getattr(rtl.weights, name), getattr(golden.weights, name)), name
    assert np.abs(golden.weights.w_out).sum() > 0  # the readout did learn on the chip


def test_host_chip_refuses_another_config(chip):
    other = chip_liquid_config(SMALL, seed=SEED + 1)  # another seed: another LFSR start, another chip
    with pytest.raises(ValueError, match="config"):
        run_chip_lsm_q(SEED + 1, "v1", episodes=1, settings=SMALL, chip_factory=HostChip.factory(chip))
    assert other != chip.cfg


@pytest.mark.parametrize("anneal_steps", [None, 4], ids=["fixed-step", "annealed"])
def test_eprop_ac_on_the_rtl_takes_golden_actions_and_ends_with_its_weights(anneal_steps):
    settings = dataclasses.replace(SMALL_AC, anneal_steps=anneal_steps)
    with Host.simulated(chip_eprop_config(settings, seed=SEED), TEST_PARAMS) as host:
        rtl = run_chip_eprop_ac(SEED, "v1", episodes=2, settings=settings, chip_factory=HostChip.factory(host))
        registers = host.read_learning_registers()
    golden = run_chip_eprop_ac(SEED, "v1", episodes=2, settings=settings)
    assert rtl.actions == golden.actions and rtl.returns == golden.returns and len(rtl.actions) > 10
    grown = 0 if anneal_steps is None else rtl.steps // anneal_steps  # the host's register writes
    assert (registers.lr_shift, registers.out_lr_shift) == (SMALL_AC.lr_shift + grown, SMALL_AC.out_lr_shift + grown)
    cfg = chip_eprop_config(settings, seed=SEED)
    start = init_weights(cfg, SEED, settings.in_scale, settings.rec_scale, settings.out_scale)
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(getattr(rtl.weights, name), getattr(golden.weights, name)), name
        assert not np.array_equal(getattr(rtl.weights, name), getattr(start, name)), f"{name} did not learn"


@pytest.mark.slow
@pytest.mark.parametrize(
    "agent",
    [
        ("lsm-q", ChipLsmQSettings()),
        ("eprop-ac", ChipEpropACSettings()),
        ("eprop-ac", ChipEpropACSettings(advantage="monte-carlo")),
    ],
    ids=["lsm-q", "eprop-ac", "eprop-ac-monte-carlo"],
)
def test_full_size_agents_on_the_rtl_equal_golden(agent):
    name, settings = agent
    if name == "lsm-q":
        cfg, run, matrices = chip_liquid_config(settings, seed=1), run_chip_lsm_q, ("w_in", "w_rec", "w_out", "b_fb")
    else:
        cfg, run, matrices = chip_eprop_config(settings, seed=1), run_chip_eprop_ac, ("w_in", "w_rec", "w_out")
    with Host.simulated(cfg, TEST_PARAMS) as host:
        rtl = run(1, "v1", episodes=10, settings=settings, chip_factory=HostChip.factory(host))
    golden = run(1, "v1", episodes=10, settings=settings)
    assert rtl.actions == golden.actions and rtl.returns == golden.returns and rtl.steps > 100
    for matrix in matrices:
        assert np.array_equal(getattr(rtl.weights, matrix), getattr(golden.weights, matrix)), matrix
