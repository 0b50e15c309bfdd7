"""Train and score a task on the chip through the host driver (simulated or on a board).

The host does what ``plasticore.training.train`` does for fixed point, only the ticks run on the chip: the
same initial weights, the same sample order (``plasticore.training.train.sample_orders``), per sample a
reset of state and traces (weights and the learning unit's LFSRs carry on), learning on the
ticks whose target is valid. Held-out samples run with learning off. So a chip whose LFSRs
start from the config's seed (a fresh chip: a board after reset, or a new simulation) ends
with golden fixed point's weights, bit for bit.

A task spec that anneals its learning rates (``anneal_every``) is trained with the same
schedule: before each epoch the host writes the epoch's learning-rate shifts into the chip's
run-time learning registers (``plasticore.golden.registers``), as golden fixed point replaces
them in its config, so the two stay bit for bit equal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from plasticore.golden import FixedNumerics
from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters
from plasticore.tasks import Split, Task
from plasticore.training.train import (
    Progress,
    TaskSpec,
    initial_weights,
    no_progress,
    sample_orders,
    score,
    task_targets,
)
from plasticore.training.train import _annealed as annealed_config

from .host import Host

__all__ = ["ChipRun", "ChipTraining", "train_on_chip", "run_heldout_on_chip", "weights_equal", "epoch_registers"]


@dataclass
class ChipRun:
    """Held-out samples run on the chip, learning off."""

    y: np.ndarray  # (samples, ticks, n_out) readout
    z: np.ndarray  # (samples, ticks, n_rec) recurrent spikes
    cycles: np.ndarray  # (samples, ticks) core cycles of every tick


@dataclass
class ChipTraining:
    """What :func:`train_on_chip` measured."""

    metric: str
    curve: list[float]  # held-out value before training, then after every epoch
    heldout: list[ChipRun]  # the held-out runs behind ``curve``
    train_y: np.ndarray  # (epochs, samples, ticks, n_out) readout while learning, in order
    train_cycles: np.ndarray  # (epochs, samples, ticks) core cycles while learning
    orders: list[np.ndarray]
    weights_before: Weights
    weights_after: Weights  # read back from the chip
    seconds: float  # training and held-out runs (not the simulator build)

    @property
    def value(self) -> float:
        return self.curve[-1]


def run_heldout_on_chip(chip: Host, split: Split, progress: Progress = no_progress, desc: str = "held-out") -> ChipRun:
    """Every sample of ``split`` from a reset state, learning off."""
    c = chip.cfg
    y = np.zeros((len(split), split.ticks, c.n_out), dtype=np.int64)
    z = np.zeros((len(split), split.ticks, c.n_rec), dtype=np.uint8)
    cycles = np.zeros((len(split), split.ticks), dtype=np.int64)
    for i in progress(range(len(split)), desc, len(split)):
        chip.reset_state()
        out = chip.run_sequence(split.x[i])
        y[i], z[i], cycles[i] = out.y, out.z, out.cycles
    return ChipRun(y, z, cycles)


def train_on_chip(
    chip: Host, task: Task, spec: TaskSpec, epochs: int, progress: Progress = no_progress
) -> ChipTraining:
    """Train ``task`` on ``chip`` (a fresh one: its LFSRs must not have drawn yet) as
    ``plasticore.training.train.train(task, ..., numerics="fixed", cfg=chip.cfg, spec=spec)`` does."""
    cfg: Config = chip.cfg
    if epochs < 1:
        raise ValueError(f"epochs: {epochs!r} is outside the allowed range 1..")
    if (cfg.n_in, cfg.n_out) != (task.n_in, task.n_out):
        raise ValueError(
            f"config {cfg.name}: n_in {cfg.n_in}, n_out {cfg.n_out}; task {task.name} "
            f"needs n_in {task.n_in}, n_out {task.n_out}"
        )
    fx = FixedNumerics()
    w0 = initial_weights(cfg, spec, fx)
    targets = task_targets(task.train, spec.target_scale, fx, spec.target_offset)
    orders = sample_orders(cfg.seed, len(task.train), epochs)
    train_y = np.zeros((epochs, len(task.train), task.train.ticks, cfg.n_out), dtype=np.int64)
    train_cycles = np.zeros((epochs, len(task.train), task.train.ticks), dtype=np.int64)

    start = time.perf_counter()
    chip.load_weights(w0)
    heldout = [run_heldout_on_chip(chip, task.test, progress, f"{task.name} rtl held-out (before)")]
    curve = [score(task.metric, heldout[0].y, task.test, spec.target_scale)]
    for ep, order in enumerate(orders):
        chip.write_learning_registers(epoch_registers(cfg, spec, ep))  # the chip may hold other rates
        desc = f"{task.name} rtl epoch {ep + 1}/{epochs}"
        for k, i in enumerate(progress(order, desc, len(order))):
            chip.reset_state()
            out = chip.train(task.train.x[i], targets[i], task.train.valid[i], what=("y", "cycles"))
            train_y[ep, k], train_cycles[ep, k] = out.y, out.cycles
        run = run_heldout_on_chip(chip, task.test, progress, f"{task.name} rtl held-out (epoch {ep + 1})")
        heldout.append(run)
        curve.append(score(task.metric, run.y, task.test, spec.target_scale))
    w1 = chip.read_weights()
    seconds = time.perf_counter() - start
    return ChipTraining(task.metric, curve, heldout, train_y, train_cycles, orders, w0, w1, seconds)


def epoch_registers(cfg: Config, spec: TaskSpec, epoch: int) -> LearningRegisters:
    """The run-time learning registers of ``epoch`` (from 0) under the spec's annealing: the
    learning-rate shifts golden's training loop uses in that epoch."""
    return LearningRegisters.of(annealed_config(cfg, spec, epoch))


def weights_equal(cfg: Config, a: Weights, b: Weights) -> dict[str, bool]:
    """Per matrix: equal bit for bit as the chip holds them (B as the rule uses it: Wout^T when
    feedback is symmetric)."""
    out = {
        name: np.array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
        for name in ("w_in", "w_rec", "w_out")
    }
    out["b_fb"] = np.array_equal(np.asarray(a.feedback(cfg)), np.asarray(b.feedback(cfg)))
    if a.synapses is not None or b.synapses is not None:  # the synapse table: wiring and weights
        both = a.synapses is not None and b.synapses is not None
        for field in ("column", "weight"):
            out[f"table {field}s"] = both and np.array_equal(getattr(a.synapses, field), getattr(b.synapses, field))
    return out
