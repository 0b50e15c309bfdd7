"""NEST 3.10's e-prop (``*_bsshslm_2020`` models) driven by arrays made in numpy: the oracle.

:func:`run_nest_eprop` builds, from the same :class:`~plasticore.reference.eprop_model.SnnParams`,
:class:`~plasticore.reference.eprop.EpropSpec` and
:class:`~plasticore.reference.eprop_model.EpropWeights` that drive the
golden float e-prop, the network of NEST's example scripts
(``pynest/examples/eprop_plasticity/eprop_supervised_*_bsshslm_2020.py``): spike generators ->
parrot neurons -> e-prop neurons -> e-prop readouts, fed back through
``eprop_learning_signal_connection_bsshslm_2020``. Inputs and targets come from numpy, so NEST's
own random numbers play no part, and the per-iteration losses and final weights can be compared
with golden's.

NEST's time line (all delays one step, ``dt`` the resolution): input spike ``x[n, k]`` of
sequence ``n`` at step ``k`` is a generator spike at ``(n T + k + 1) dt``; it reaches the
recurrent neurons two steps later, which is step ``k`` of their update interval (their "shift"
is 2). The readouts are one step further on (shift 3) and the target generator one more (the
"total offset" of 4). Recorded readout signals lag one step behind the readout membrane.

This module imports ``nest`` lazily, so importing it never fails; :func:`nest_available` says
whether NEST can be used.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from plasticore.reference.eprop import EpropSpec
from plasticore.reference.eprop_model import EpropWeights, SnnParams

__all__ = ["nest_available", "NestRun", "run_nest_eprop"]

#: NEST's fixed one-step offsets (eprop_archiving_node.h): generator offset and three delays
OFFSET_GEN = 1
DELAYS = 3  # input->recurrent, recurrent->readout, readout->readout normalization
TOTAL_OFFSET = OFFSET_GEN + DELAYS


def nest_available() -> tuple[bool, str]:
    """(True, version) when ``import nest`` works, else (False, the reason)."""
    try:
        import nest  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the machine
        return False, f"import nest failed: {type(exc).__name__}: {exc}"
    return True, getattr(nest, "__version__", "?")


def _import_nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # pragma: no cover - older NEST
        nest.set_verbosity("M_ERROR")
    return nest


@dataclass
class NestRun:
    """What a NEST run produced."""

    #: per-iteration loss, computed from NEST's recorded readout and target signals
    losses: np.ndarray
    #: weights after the last update, read back from NEST's synapses
    weights: EpropWeights
    #: readout signal (softmax or y) as recorded, ``(n_iter, T, n_out)``
    readout: np.ndarray
    #: target as recorded, ``(n_iter, T, n_out)``
    target: np.ndarray
    #: wall-clock seconds of ``nest.Simulate`` alone, and of building the network
    simulate_seconds: float
    build_seconds: float
    #: optional per-step recordings of the recurrent neurons ``(n_iter*T, n_rec)``
    rec_v: np.ndarray | None = None
    rec_psi: np.ndarray | None = None
    rec_learning_signal: np.ndarray | None = None
    rec_spikes: np.ndarray | None = None


def _neuron_params(p: SnnParams, spec: EpropSpec, T: int, adaptive: bool) -> dict:
    d = {
        "C_m": 1.0,
        "c_reg": spec.reg_coefficient,
        "E_L": 0.0,
        "f_target": spec.reg_target_rate_hz,
        "flush_event_send_interval": T * p.dt,
        "I_e": 0.0,
        "regular_spike_arrival": p.rec_regular_spike_arrival,
        "surrogate_gradient_function": p.surrogate,
        "surrogate_gradient_height": p.psi_height,
        "surrogate_gradient_width": p.psi_width,
        "t_ref": p.t_ref,
        "tau_m": p.tau_m,
        "V_m": 0.0,
        "V_th": p.v_th,
    }
    if adaptive:
        d.update({"adapt_tau": p.tau_a, "adaptation": 0.0, "adapt_beta": p.adapt_beta})
    return d


def _optimizer_params(spec: EpropSpec, batch: int) -> dict:
    opt = {"batch_size": batch, "eta": spec.eta, "Wmin": spec.w_min, "Wmax": spec.w_max}
    if spec.optimizer == "adam":
        opt.update({"type": "adam", "beta_1": spec.adam_beta1, "beta_2": spec.adam_beta2, "epsilon": spec.adam_epsilon})
    else:
        opt["type"] = "gradient_descent"
    return opt


def run_nest_eprop(
    p: SnnParams,
    spec: EpropSpec,
    w: EpropWeights,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch: int = 1,
    record_rec: bool = False,
) -> NestRun:
    """Train in NEST on ``inputs`` ``(n_seq, T, n_in)`` and ``targets`` ``(n_seq, T, n_out)``.

    Sequences are played one after another; with ``batch`` > 1 the weights change after every
    ``batch`` sequences (NEST's ``batch_size``), so there are ``n_seq / batch`` iterations.
    Only what NEST's bsshslm models support is accepted (random feedback, reset on update).
    """
    if spec.feedback != "random":
        raise ValueError(f"feedback: NEST's bsshslm_2020 models use fixed (random) feedback, not {spec.feedback!r}")
    if p.out_regular_spike_arrival:
        # NEST filters the recurrent eligibility traces with (1 - kappa) whatever the readout's
        # input scaling; golden uses the readout's scaling, so the two agree only with False
        raise ValueError("out_regular_spike_arrival: NEST's e-prop is consistent only with False")
    if not (spec.drop_first_step_input and spec.nest_early_trigger and spec.reset_on_update):
        raise ValueError("spec: compare with NEST under NEST's conventions (plasticore.reference.eprop.nest_spec)")
    if set(spec.learn) != {"w_in", "w_rec", "w_out"}:
        raise ValueError(f"learn: NEST's e-prop synapses all learn; got {spec.learn!r}")
    n_seq, T, n_in = inputs.shape
    window = T if spec.learning_window is None else spec.learning_window
    if n_seq % batch:
        raise ValueError(f"batch: {n_seq} sequences are not a whole number of batches of {batch}")
    spec.check_sequence(T)
    if np.any(inputs[:, 0, :]):
        raise ValueError("inputs: NEST drops input spikes at step 0 of a sequence; make them 0")
    nest = _import_nest()
    dt = p.dt
    t_build = time.perf_counter()
    nest.ResetKernel()
    nest.set(
        eprop_learning_window=window * dt,
        eprop_reset_neurons_on_update=True,
        eprop_update_interval=T * dt,
        print_time=False,
        resolution=dt,
        total_num_virtual_procs=1,
    )
    gen_in = nest.Create("spike_generator", n_in)
    nrns_in = nest.Create("parrot_neuron", n_in)
    nrns_lif = nest.Create("eprop_iaf_bsshslm_2020", p.n_lif, _neuron_params(p, spec, T, False)) if p.n_lif else None
    nrns_alif = (
        nest.Create("eprop_iaf_adapt_bsshslm_2020", p.n_alif, _neuron_params(p, spec, T, True)) if p.n_alif else None
    )
    nrns_rec = nrns_lif + nrns_alif if (nrns_lif and nrns_alif) else (nrns_lif or nrns_alif)
    loss = "mean_squared_error" if p.loss == "mean_squared_error" else "cross_entropy"
    nrns_out = nest.Create(
        "eprop_readout_bsshslm_2020",
        p.n_out,
        {
            "C_m": 1.0,
            "E_L": 0.0,
            "I_e": 0.0,
            "loss": loss,
            "regular_spike_arrival": p.out_regular_spike_arrival,
            "tau_m": p.tau_out,
            "V_m": 0.0,
        },
    )
    gen_target = nest.Create("step_rate_generator", p.n_out)

    nest.SetDefaults(
        "eprop_synapse_bsshslm_2020",
        {
            "optimizer": _optimizer_params(spec, batch),
            "average_gradient": spec.average_gradient,
        },
    )
    all_to_all = {"rule": "all_to_all", "allow_autapses": False}
    one_to_one = {"rule": "one_to_one"}
    syn = {"synapse_model": "eprop_synapse_bsshslm_2020", "delay": dt, "tau_m_readout": p.tau_out}
    static = {"synapse_model": "static_synapse", "delay": dt}
    nest.Connect(gen_in, nrns_in, one_to_one, static)
    nest.Connect(nrns_in, nrns_rec, all_to_all, {**syn, "weight": w.w_in})
    nest.Connect(nrns_rec, nrns_rec, all_to_all, {**syn, "weight": w.w_rec})
    nest.Connect(nrns_rec, nrns_out, all_to_all, {**syn, "weight": w.w_out})
    nest.Connect(
        nrns_out,
        nrns_rec,
        all_to_all,
        {"synapse_model": "eprop_learning_signal_connection_bsshslm_2020", "delay": dt, "weight": w.b_fb},
    )
    nest.Connect(
        gen_target, nrns_out, one_to_one, {"synapse_model": "rate_connection_delayed", "delay": dt, "receptor_type": 2}
    )
    if p.loss == "cross_entropy":
        nest.Connect(
            nrns_out,
            nrns_out,
            all_to_all,
            {"synapse_model": "rate_connection_delayed", "delay": dt, "receptor_type": 1, "weight": 1.0},
        )

    steps_task = n_seq * T
    mm_out = nest.Create(
        "multimeter",
        {
            "interval": dt,
            "record_from": ["readout_signal", "target_signal"],
            "start": TOTAL_OFFSET * dt,
            "stop": (TOTAL_OFFSET + steps_task) * dt,
        },
    )
    nest.Connect(mm_out, nrns_out, all_to_all, static)
    if record_rec:
        mm_rec = nest.Create(
            "multimeter",
            {
                "interval": dt,
                "record_from": ["V_m", "surrogate_gradient", "learning_signal"],
                "start": (OFFSET_GEN + 1) * dt,
                "stop": (OFFSET_GEN + 1 + steps_task) * dt,
            },
        )
        nest.Connect(mm_rec, nrns_rec, all_to_all, static)
        sr_rec = nest.Create("spike_recorder")
        nest.Connect(nrns_rec, sr_rec, all_to_all, static)

    # inputs: spike times per input neuron over all sequences
    seq_idx, step_idx, in_idx = np.nonzero(inputs)
    times = (seq_idx * T + step_idx + OFFSET_GEN) * dt
    order = np.argsort(in_idx, kind="stable")
    counts = np.bincount(in_idx, minlength=n_in)
    per_neuron = np.split(times[order], np.cumsum(counts)[:-1])
    gen_in.set([{"spike_times": np.sort(ts).astype(np.float64)} for ts in per_neuron])
    amp_times = (np.arange(steps_task) + TOTAL_OFFSET) * dt
    flat_targets = targets.reshape(steps_task, p.n_out)
    gen_target.set(
        [
            {"amplitude_times": amp_times, "amplitude_values": flat_targets[:, k].astype(np.float64)}
            for k in range(p.n_out)
        ]
    )

    # A strong spike into every presynaptic neuron after the last sequence makes every synapse
    # apply its last pending update, so that the weights can be read (as in NEST's examples).
    gen_final = nest.Create("spike_generator", 1, {"spike_times": [(steps_task + DELAYS) * dt]})
    nest.Connect(gen_final, nrns_in + nrns_rec, "all_to_all", {"weight": 1000.0})
    build_seconds = time.perf_counter() - t_build

    t_sim = time.perf_counter()
    nest.Simulate((steps_task + TOTAL_OFFSET + 1) * dt)
    simulate_seconds = time.perf_counter() - t_sim

    def matrix(pre, post):
        c = nest.GetConnections(pre, post).get(["source", "target", "weight"])
        m = np.zeros((len(post), len(pre)))
        pre_ids, post_ids = np.asarray(pre.tolist()), np.asarray(post.tolist())
        src = np.searchsorted(pre_ids, np.asarray(c["source"]))
        tgt = np.searchsorted(post_ids, np.asarray(c["target"]))
        m[tgt, src] = c["weight"]
        return m

    weights = EpropWeights(
        w_in=matrix(nrns_in, nrns_rec),
        w_rec=matrix(nrns_rec, nrns_rec),
        w_out=matrix(nrns_rec, nrns_out),
        b_fb=np.array(w.b_fb, dtype=np.float64),
    )

    ev = mm_out.get("events")
    out_ids = np.asarray(nrns_out.tolist())
    readout = np.stack([ev["readout_signal"][ev["senders"] == i] for i in out_ids], axis=-1)
    target = np.stack([ev["target_signal"][ev["senders"] == i] for i in out_ids], axis=-1)
    readout = readout.reshape(n_seq, T, p.n_out)
    target = target.reshape(n_seq, T, p.n_out)
    win = slice(T - window, T)
    if p.loss == "mean_squared_error":
        per_seq = 0.5 * np.sum((readout[:, win] - target[:, win]) ** 2, axis=(1, 2))
    else:
        per_seq = -np.sum(target[:, win] * np.log(readout[:, win]), axis=(1, 2))
    if spec.average_gradient:
        per_seq = per_seq / window
    losses = per_seq.reshape(n_seq // batch, batch).mean(axis=1)

    run = NestRun(
        losses=losses,
        weights=weights,
        readout=readout,
        target=target,
        simulate_seconds=simulate_seconds,
        build_seconds=build_seconds,
    )
    if record_rec:
        ev = mm_rec.get("events")
        rec_ids = np.asarray(nrns_rec.tolist())
        grab = lambda key: np.stack([ev[key][ev["senders"] == i] for i in rec_ids], axis=-1)  # noqa: E731
        run.rec_v, run.rec_psi, run.rec_learning_signal = (
            grab("V_m"),
            grab("surrogate_gradient"),
            grab("learning_signal"),
        )
        sp = sr_rec.get("events")
        spikes = np.zeros((steps_task + TOTAL_OFFSET + 2, p.n_rec))
        tt = np.rint(np.asarray(sp["times"]) / dt).astype(int)
        spikes[tt, np.searchsorted(rec_ids, np.asarray(sp["senders"]))] = 1
        run.rec_spikes = spikes
    return run
