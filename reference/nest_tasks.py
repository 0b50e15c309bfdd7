"""The two tasks of Bellec et al. (2020) that NEST's e-prop examples train, made in numpy.

Each maker returns a :class:`EpropTask`: network parameters, learning spec, initial weights,
input spikes and targets. The random draws follow NEST's example scripts and test
(``eprop_supervised_regression_sine-waves_bsshslm_2020.py``,
``eprop_supervised_classification_evidence-accumulation_bsshslm_2020.py``,
``test_eprop_bsshslm_2020_plasticity.py``) in the same order from a legacy
``numpy.random.RandomState(seed)``; weights are drawn as float32 (as there, for TensorFlow
parity) and then held as float64. With seed 1 the data are those of NEST's test, so its
published reference losses can be reproduced as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eprop import EpropSpec, nest_spec
from .eprop_model import EpropWeights, SnnParams

__all__ = ["EpropTask", "sine_wave_task", "evidence_accumulation_task"]


@dataclass
class EpropTask:
    """A complete training problem for :func:`plasticore.reference.eprop.train_eprop`.

    Parameters
    ----------
    name : str
        Label.
    params : SnnParams
        The network.
    spec : EpropSpec
        How it learns.
    weights : EpropWeights
        The initial weights.
    inputs : ndarray, shape (n_seq, T, n_in)
        Input spikes, 0/1.
    targets : ndarray, shape (n_seq, T, n_out)
        Targets.
    batch : int
        Sequences per update.
    """

    name: str
    params: SnnParams
    spec: EpropSpec
    weights: EpropWeights
    inputs: np.ndarray
    targets: np.ndarray
    batch: int = 1


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def sine_wave_task(n_iter: int = 5, seed: int = 1, steps: int = 1000) -> EpropTask:
    """Pattern generation: 100 frozen Poisson inputs (p = 0.05 per step), 100 LIF, 1 readout.

    LIF: tau_m 30 ms, v_th 0.03, no refractory period; readout tau 30 ms; mean squared error
    against a sum of four sines; gradient descent eta 1e-4, batch 1, firing-rate
    regularization c_reg 300 toward 10 Hz. The same input and target every iteration.
    """
    rs = np.random.RandomState(seed)
    n_in, n_rec, n_out = 100, 100, 1
    w_in = _f32(rs.randn(n_in, n_rec).T / np.sqrt(n_in))
    w_rec = _f32(rs.randn(n_rec, n_rec).T / np.sqrt(n_rec))
    np.fill_diagonal(w_rec, 0.0)
    w_out = _f32(rs.randn(n_rec, n_out).T / np.sqrt(n_rec))
    b_fb = _f32(rs.randn(n_rec, n_out) / np.sqrt(n_rec))

    x = (rs.rand(steps, n_in) < 0.05).astype(np.int8)
    x[0] = 0  # NEST drops spikes in step 0 of every sequence; its scripts remove them

    periods = [1000, 500, 333, 200]
    amplitudes = rs.uniform(low=0.5, high=2.0, size=len(periods))
    phases = rs.uniform(low=0.0, high=2.0 * np.pi, size=len(periods))
    target = sum(
        a * np.sin(np.linspace(phi, phi + 2.0 * np.pi * (steps // period), steps))
        for a, phi, period in zip(amplitudes, phases, periods, strict=True)
    )
    target = target - target[0]
    target = target / max(np.abs(target).max(), 1e-6)

    params = SnnParams(
        n_in=n_in,
        n_rec=n_rec,
        n_out=n_out,
        dt=1.0,
        tau_m=30.0,
        v_th=0.03,
        t_ref=0.0,
        tau_out=30.0,
        rec_regular_spike_arrival=False,
        out_regular_spike_arrival=False,
        surrogate="piecewise_linear",
        surrogate_height=0.3,
        surrogate_width=1.0,
        loss="mean_squared_error",
    )
    spec = nest_spec(
        learning_window=steps,
        update_interval=steps,
        average_gradient=False,
        feedback="random",
        reg_coefficient=300.0,
        reg_target_rate_hz=10.0,
        optimizer="gradient_descent",
        eta=1e-4,
    )
    inputs = np.repeat(x[None], n_iter, axis=0)
    targets = np.repeat(target[None, :, None], n_iter, axis=0)
    return EpropTask("sine-wave regression", params, spec, EpropWeights(w_in, w_rec, w_out, b_fb), inputs, targets)


def evidence_accumulation_task(n_iter: int = 5, seed: int = 1, batch: int = 1, n_cues: int = 7) -> EpropTask:
    """Evidence accumulation: 40 inputs in 4 groups (left, right, recall, noise), 50 LIF + 50 ALIF.

    Neurons: tau_m 20 ms, v_th 0.6, refractory 5 ms; ALIF tau_a 2000 ms and
    beta = 1.7 (1 - rho) / (1 - alpha). Two readouts (tau 20 ms), cross-entropy over the last
    150 ms (the recall), Adam eta 5e-3, averaged gradients, c_reg 300 toward 10 Hz.
    A sequence: ``n_cues`` cues of 100 ms after 50 ms pauses, 1050 ms of background noise, 150
    ms recall; the target is the side that had more cues.
    """
    rs = np.random.RandomState(seed)
    n_in, n_lif, n_alif, n_out = 40, 50, 50, 2
    n_rec = n_lif + n_alif
    cue, spacing, bg_noise, recall = 100, 50, 1050, 150
    steps = n_cues * (cue + spacing) + bg_noise + recall
    spike_prob, prob_group, n_symbols = 0.04, 0.3, 4

    w_in = _f32(rs.randn(n_in, n_rec).T / np.sqrt(n_in))
    w_rec = _f32(rs.randn(n_rec, n_rec).T / np.sqrt(n_rec))
    np.fill_diagonal(w_rec, 0.0)
    limit = np.sqrt(3.0 / max(1.0, (n_rec + n_out) / 2.0))  # Glorot uniform
    w_out = _f32(rs.uniform(low=-limit, high=limit, size=(n_rec, n_out)).T)
    b_fb = _f32(rs.randn(n_rec, n_out))

    pop = n_in // n_symbols
    inputs, targets = [], []
    for _ in range(n_iter):
        choices = np.array([prob_group, 1 - prob_group], dtype=np.float32)
        idx = rs.choice([0, 1], batch)
        probs = np.zeros((batch, 2), dtype=np.float32)
        probs[:, 0] = choices[idx]
        probs[:, 1] = choices[1 - idx]
        cues = np.zeros((batch, n_cues), dtype=int)
        for b in range(batch):
            cues[b] = rs.choice([0, 1], n_cues, p=probs[b])
        p_spike = np.zeros((batch, steps, n_in))
        for b in range(batch):
            for c in range(n_cues):
                start = c * (cue + spacing) + spacing
                side = cues[b, c]
                p_spike[b, start : start + cue, side * pop : (side + 1) * pop] = spike_prob
        p_spike[:, -recall:, 2 * pop : 3 * pop] = spike_prob
        p_spike[:, :, 3 * pop :] = spike_prob / 4.0
        spikes = p_spike > rs.rand(p_spike.size).reshape(p_spike.shape)
        spikes[:, 0, :] = 0
        label = (np.sum(cues, axis=1) > n_cues // 2).astype(int)
        onehot = np.zeros((batch, steps, n_out))
        onehot[np.arange(batch), :, label] = 1.0
        inputs.append(spikes.astype(np.int8))
        targets.append(onehot)

    params = SnnParams(
        n_in=n_in,
        n_rec=n_rec,
        n_out=n_out,
        n_alif=n_alif,
        dt=1.0,
        tau_m=20.0,
        v_th=0.6,
        t_ref=5.0,
        tau_a=2000.0,
        adapt_beta=SnnParams.bellec_beta(1.0, 20.0, 2000.0),
        tau_out=20.0,
        rec_regular_spike_arrival=True,
        out_regular_spike_arrival=False,
        surrogate="piecewise_linear",
        surrogate_height=0.3,
        surrogate_width=1.0,
        loss="cross_entropy",
    )
    spec = nest_spec(
        learning_window=recall,
        update_interval=steps,
        average_gradient=True,
        feedback="random",
        reg_coefficient=300.0,
        reg_target_rate_hz=10.0,
        optimizer="adam",
        eta=5e-3,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
    )
    return EpropTask(
        "evidence accumulation",
        params,
        spec,
        EpropWeights(w_in, w_rec, w_out, b_fb),
        np.concatenate(inputs),
        np.concatenate(targets),
        batch=batch,
    )
