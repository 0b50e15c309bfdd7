"""NIR (Neuromorphic Intermediate Representation, ``nir``) export and import of a chip network.

The chip's network is one recurrent population of LIF (and ALIF) neurons fed by input spikes,
read out by leaky integrators. In NIR it is the graph

    input -> w_in (Linear) -> lif (LIF) -> w_out (Linear) -> readout (LI) -> output
                               ^     |
                               +- w_rec (Linear) <-+

with ``dt`` = one chip tick. The conventions (docs: README, section "NIR"):

* **Time.** A NIR graph holds continuous time constants; plasticore discretizes them with forward
  Euler over one tick, as snnTorch (``tau = dt / (1 - beta)``) and Norse do:
  ``v <- (1 - dt/tau) v + (dt/tau) (v_leak + r I)``. So the chip's decay factor
  ``alpha = alpha_q / 2**decay_bits`` is exported as ``tau = dt / (1 - alpha)``, and an imported
  ``tau`` becomes ``alpha_q = round((1 - dt/tau) * 2**decay_bits)`` (the config's ``tau_m`` is then
  set so that ``decay_factor(tau_m)`` gives exactly that ``alpha_q``). The same for the readout
  (``kappa``) and ALIF adaptation (``rho``). ``dt`` is in the graph's time unit (1: ticks).
* **Units.** Exported voltages are in input-weight LSBs: one unit = ``2**w_shift`` soma LSBs, so
  weights are the chip's integers, ``v_threshold = (threshold - 1/2) / 2**w_shift`` (the chip spikes
  at ``U >= threshold``, NIR at ``v > v_threshold``: the same decision for an integer U) and
  ``r = tau / dt`` (input gain one per tick). The readout's unit is ``2**out_shift`` readout LSBs:
  ``w_out`` is the chip's integers too. Import picks the scales itself (or keeps those of an embedded plasticore
  config): every neuron's threshold and input gain ``r dt / tau`` are folded into its weight row
  (exact: a neuron's voltage scale is free), then the largest weight maps to the largest integer.
* **Extensions** (node metadata, which other NIR tools ignore): ``plasticore_reset``
  ("subtract": the chip subtracts the threshold after the leak of the next tick; NIR's LIF resets
  to ``v_reset``, which is the chip's "zero"), ``plasticore_refractory`` (ticks), and the ALIF
  neuron: ``plasticore_model = "ALIF"`` with per-neuron ``adapt_inc`` (threshold increase per
  spike, voltage units; 0 for LIF neurons) and ``tau_adapt``. NIR has no adaptive neuron and
  ``nir.read`` refuses unknown node types, so ALIF is an LIF node plus metadata: a tool that
  ignores it runs the neurons without adaptation. The graph's metadata carries the whole
  plasticore config (``plasticore_config``), ``plasticore_dt`` and the feedback weights B.

:func:`simulate` runs a NIR graph in float64 with exactly these conventions: the reference the
chip's import is measured against (tests/test_nir.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nir
import numpy as np

from plasticore.golden import Config, Weights, init_weights, load_config
from plasticore.golden.config import decay_factor

__all__ = [
    "NIRRefusal",
    "Imported",
    "export_graph",
    "write_nir",
    "read_nir",
    "import_graph",
    "simulate",
    "save_weights",
    "load_weights",
    "tau_for_decay",
]

#: graph and node metadata keys of plasticore's extensions
META_CONFIG = "plasticore_config"
META_DT = "plasticore_dt"
META_B_FB = "plasticore_b_fb"
META_RESET = "plasticore_reset"
META_REFRACTORY = "plasticore_refractory"
META_MODEL = "plasticore_model"
META_ADAPT_INC = "adapt_inc"
META_TAU_ADAPT = "tau_adapt"

#: the imported threshold stays below u_max / HEADROOM, so the membrane holds +-HEADROOM thresholds
HEADROOM = 8

_LINEAR = (nir.Linear, nir.Affine, nir.Scale, nir.Flatten)
_REFUSED = {
    "Conv1d": "convolutions cannot run on the chip (its weights are dense all-to-all matrices)",
    "Conv2d": "convolutions cannot run on the chip (its weights are dense all-to-all matrices)",
    "SumPool2d": "pooling cannot run on the chip (one recurrent layer of dense weights)",
    "AvgPool2d": "pooling cannot run on the chip (one recurrent layer of dense weights)",
    "Delay": "the chip has no synaptic delays (recurrence is exactly one tick)",
    "Threshold": "the chip has no stateless threshold unit (its spikes come from LIF neurons)",
    "IF": "the chip's neurons always leak (decay < 1); an IF neuron has no leak",
    "I": "the chip has no non-leaky integrator",
    "CubaLI": "the chip has no synaptic current filter",
}


class NIRRefusal(ValueError):
    """A NIR graph (or one of its nodes) that the chip cannot run; the message names the node."""


@dataclass
class Imported:
    """The result of :func:`import_graph`: a chip configuration, its weights and what was lost."""

    config: Config
    weights: Weights
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


# -- weights files ---------------------------------------------------------------------------------


def save_weights(path: str | Path, w: Weights, cfg: Config | None = None) -> None:
    """Write ``w`` (and optionally the config it belongs to, as JSON) to an ``.npz`` file:
    keys ``w_in``, ``w_rec``, ``w_out``, ``b_fb`` and ``config``."""
    arrays: dict[str, Any] = {name: np.asarray(getattr(w, name)) for name in ("w_in", "w_rec", "w_out", "b_fb")}
    if cfg is not None:
        arrays["config"] = np.array(json.dumps(cfg.to_dict()))
    with open(path, "wb") as f:  # np.savez would append ".npz" to another suffix
        np.savez(f, **arrays)


def load_weights(path: str | Path) -> tuple[Weights, Config | None]:
    """Read a file of :func:`save_weights`: the weights and the config stored with them (or None)."""
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("w_in", "w_rec", "w_out", "b_fb") if k not in data]
        if missing:
            raise ValueError(f"weights: {path} has no {', '.join(missing)} (keys: {', '.join(data.files)})")
        w = Weights(*(np.array(data[k]) for k in ("w_in", "w_rec", "w_out", "b_fb")))
        cfg = Config.from_dict(json.loads(str(data["config"]))) if "config" in data else None
    return w, cfg


# -- time constants --------------------------------------------------------------------------------


def tau_for_decay(q: int, decay_bits: int) -> float:
    """A config time constant (ticks) whose :func:`decay_factor` is exactly ``q``."""
    tau = -1.0 / math.log(q / (1 << decay_bits))
    for _ in range(64):  # float rounding may land a hair off the tie; walk to the exact factor
        got = decay_factor(tau, decay_bits)
        if got == q:
            return tau
        tau = math.nextafter(tau, math.inf if got < q else 0.0)
    raise AssertionError(f"no tau gives decay factor {q} at {decay_bits} bits")


def _euler_tau(q: int, decay_bits: int, dt: float) -> float:
    """The NIR time constant whose forward-Euler decay per tick is ``q / 2**decay_bits``."""
    return dt / (1.0 - q / (1 << decay_bits))


# -- export ----------------------------------------------------------------------------------------


def _integer_weights(cfg: Config, w: Weights) -> Weights:
    for name in ("w_in", "w_rec", "w_out", "b_fb"):
        arr = np.asarray(getattr(w, name))
        if arr.size and not np.array_equal(arr, np.rint(arr)):
            raise ValueError(
                f"weights: {name} holds non-integer values (a --numerics float run?); the chip runs integer weights"
            )
    wi = w.astype(np.int64)
    wi.check(cfg)
    return wi


def export_graph(cfg: Config, w: Weights, dt: float = 1.0) -> nir.NIRGraph:
    """The chip network ``cfg`` with weights ``w`` as a NIR graph (conventions: module docstring)."""
    if not dt > 0:
        raise ValueError(f"dt: {dt!r} must be positive")
    w = _integer_weights(cfg, w)
    n, k, db = cfg.n_rec, cfg.n_out, cfg.decay_bits
    unit = float(1 << cfg.w_shift)
    tau = _euler_tau(cfg.alpha_q, db, dt)
    meta: dict[str, Any] = {META_RESET: cfg.reset, META_REFRACTORY: int(cfg.refractory)}
    if cfg.n_alif:
        inc = np.where(np.asarray(cfg.alif_mask), cfg.adapt_inc / unit, 0.0)  # soma LSBs / 2**w_shift
        meta.update(
            {META_MODEL: "ALIF", META_ADAPT_INC: inc, META_TAU_ADAPT: np.full(n, _euler_tau(cfg.rho_q, db, dt))}
        )
    lif = nir.LIF(
        tau=np.full(n, tau),
        r=np.full(n, tau / dt),
        v_leak=np.zeros(n),
        v_threshold=np.full(n, (cfg.threshold - 0.5) / unit),
        v_reset=np.zeros(n),
        metadata=meta,
    )
    tau_out = _euler_tau(cfg.kappa_q, db, dt)
    readout = nir.LI(tau=np.full(k, tau_out), r=np.full(k, tau_out / dt), v_leak=np.zeros(k))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([cfg.n_in])}),
        "w_in": nir.Linear(weight=w.w_in.astype(np.float64)),
        "lif": lif,
        "w_rec": nir.Linear(weight=w.w_rec.astype(np.float64)),
        "w_out": nir.Linear(weight=w.w_out.astype(np.float64)),
        "readout": readout,
        "output": nir.Output(output_type={"output": np.array([k])}),
    }
    edges = [
        ("input", "w_in"),
        ("w_in", "lif"),
        ("lif", "w_rec"),
        ("w_rec", "lif"),
        ("lif", "w_out"),
        ("w_out", "readout"),
        ("readout", "output"),
    ]
    metadata = {META_CONFIG: json.dumps(cfg.to_dict()), META_DT: float(dt), META_B_FB: w.b_fb.astype(np.float64)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(path: str | Path, cfg: Config, w: Weights, dt: float = 1.0) -> nir.NIRGraph:
    graph = export_graph(cfg, w, dt)
    nir.write(path, graph)
    return graph


def read_nir(path: str | Path) -> nir.NIRGraph:
    """Read a ``.nir`` file; a file ``nir`` cannot read is refused in one line. Graphs that fail only
    nir's type inference (common in older exports: subgraph shapes left unset) are read without it:
    the import checks every shape it uses."""
    try:
        try:
            return nir.read(path)
        except ValueError:
            return nir.read(path, type_check=False)
    except (OSError, KeyError, AssertionError, ValueError, TypeError) as exc:
        raise NIRRefusal(f"{path}: not a NIR graph nir {nir.version} can read ({type(exc).__name__}: {exc})") from None


# -- graph analysis (shared by import and the float simulator) -------------------------------------


def _kind(node: Any) -> str:
    return type(node).__name__


def _flatten(graph: nir.NIRGraph) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Inline subgraphs (snnTorch writes a recurrent layer as one): nodes are renamed
    ``<subgraph>.<node>``; an edge into a subgraph goes to its Input nodes, an edge out of it leaves
    from its Output nodes. Inner Input and Output nodes stay as pass-through nodes."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    entry: dict[str, list[str]] = {}
    exit_: dict[str, list[str]] = {}
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _flatten(node)
            for iname, inode in inner_nodes.items():
                nodes[f"{name}.{iname}"] = inode
            edges += [(f"{name}.{a}", f"{name}.{b}") for a, b in inner_edges]
            entry[name] = [f"{name}.{i}" for i, nd in node.nodes.items() if isinstance(nd, nir.Input)]
            exit_[name] = [f"{name}.{o}" for o, nd in node.nodes.items() if isinstance(nd, nir.Output)]
        else:
            nodes[name] = node
    for a, b in graph.edges:
        for src in exit_.get(a, [a]):
            for dst in entry.get(b, [b]):
                edges.append((src, dst))
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRRefusal(f"edge ({a!r}, {b!r}): node {end!r} is not in the graph")
    return nodes, edges


def _io_names(graph: nir.NIRGraph) -> tuple[str, str]:
    inputs = [k for k, nd in graph.nodes.items() if isinstance(nd, nir.Input)]
    outputs = [k for k, nd in graph.nodes.items() if isinstance(nd, nir.Output)]
    if len(inputs) != 1:
        raise NIRRefusal(
            f"graph: {len(inputs)} Input nodes ({', '.join(inputs) or 'none'}); the chip has one input spike vector"
        )
    if len(outputs) != 1:
        raise NIRRefusal(
            f"graph: {len(outputs)} Output nodes ({', '.join(outputs) or 'none'}); the chip has one readout vector"
        )
    return inputs[0], outputs[0]


def _size(node: Any) -> int:
    return int(np.prod(np.asarray(node.input_type["input"])))


def _is_neuron(node: Any) -> bool:
    return isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI, nir.IF, nir.I, nir.CubaLI))


class _Linear:
    """Each node's output as ``sum_s M_s @ out(s) + b`` over sources s (the Input and neuron nodes),
    through any chain of Linear/Affine/Scale/Flatten and pass-through nodes."""

    def __init__(self, nodes: dict[str, Any], edges: list[tuple[str, str]], source: str) -> None:
        self.nodes, self.source = nodes, source
        self.preds: dict[str, list[str]] = {k: [] for k in nodes}
        for a, b in edges:
            self.preds[b].append(a)
        self.memo: dict[str, tuple[dict[str, np.ndarray], np.ndarray | None]] = {}
        self.busy: set[str] = set()

    def inputs_of(self, name: str) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """The summed input arriving at ``name`` (the sum over its incoming edges)."""
        total: dict[str, np.ndarray] = {}
        bias: np.ndarray | None = None
        for p in self.preds[name]:
            maps, b = self.output_of(p)
            for s, m in maps.items():
                total[s] = total[s] + m if s in total else m
            if b is not None:
                bias = b if bias is None else bias + b
        return total, bias

    def output_of(self, name: str) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        node = self.nodes[name]
        if name == self.source or _is_neuron(node):
            n = _size(node) if name == self.source else int(np.asarray(node.output_type["output"]).prod())
            return {name: np.eye(n)}, None
        if name in self.memo:
            return self.memo[name]
        if name in self.busy:
            raise NIRRefusal(
                f"node {name!r} ({_kind(node)}): a loop of linear nodes without a neuron "
                f"(an algebraic loop has no tick delay)"
            )
        self.busy.add(name)
        maps, bias = self.inputs_of(name)
        if isinstance(node, (nir.Linear, nir.Affine)):
            wt = np.asarray(node.weight, dtype=np.float64)
            if wt.ndim != 2:
                raise NIRRefusal(f"node {name!r} ({_kind(node)}): weight of shape {wt.shape} is not a matrix")
            maps = {s: wt @ m for s, m in maps.items()}
            bias = None if bias is None else wt @ bias
            if isinstance(node, nir.Affine):
                b = np.asarray(node.bias, dtype=np.float64).reshape(-1)
                bias = b if bias is None else bias + b
        elif isinstance(node, nir.Scale):
            sc = np.asarray(node.scale, dtype=np.float64).reshape(-1)
            maps = {s: sc[:, None] * m for s, m in maps.items()}
            bias = None if bias is None else sc * bias
        elif not isinstance(node, (nir.Flatten, nir.Input, nir.Output)):  # Flatten: the flat vector
            raise NIRRefusal(
                f"node {name!r} ({_kind(node)}): {_REFUSED.get(_kind(node), 'not a node kind the chip can run')}"
            )
        self.busy.discard(name)
        self.memo[name] = (maps, bias)
        return maps, bias


def _arr(node: Any, attr: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(getattr(node, attr), dtype=np.float64).reshape(-1), (n,)).copy()


def _gain(node: Any, n: int, dt: float) -> np.ndarray:
    """Per-tick input gain of a neuron node under forward Euler: ``r dt / tau`` (times ``w_in``)."""
    if isinstance(node, nir.CubaLIF):
        return _arr(node, "r", n) * dt / _arr(node, "tau_mem", n) * _arr(node, "w_in", n)
    return _arr(node, "r", n) * dt / _arr(node, "tau", n)


def _tau(node: Any, n: int) -> np.ndarray:
    return _arr(node, "tau_mem" if isinstance(node, nir.CubaLIF) else "tau", n)


def _meta(node: Any) -> dict[str, Any]:
    return dict(node.metadata) if isinstance(getattr(node, "metadata", None), dict) else {}


def _graph_dt(graph: nir.NIRGraph, dt: float | None) -> float:
    if dt is None:
        meta = graph.metadata if isinstance(graph.metadata, dict) else {}
        dt = float(meta.get(META_DT, 1.0))
    if not dt > 0:
        raise ValueError(f"dt: {dt!r} must be positive")
    return dt


# -- float simulation ------------------------------------------------------------------------------


def simulate(
    graph: nir.NIRGraph, x: np.ndarray, dt: float | None = None, extensions: bool = True
) -> dict[str, np.ndarray]:
    """Run ``graph`` in float64 on inputs ``x`` of shape ``(ticks, n_in)``, forward Euler with
    step ``dt`` (default: the graph's ``plasticore_dt``, else 1).

    Returns every neuron node's output per tick, ``(ticks, n)``: spikes (0/1) of LIF and CubaLIF
    nodes, the membrane of LI nodes, and the Output node's value. Neurons are updated in
    dependency order; a cycle (a recurrent weight) carries the previous tick's output. A spike is
    ``v > v_threshold (+ adaptation)``, NIR's strict comparison. ``extensions``: honour the
    plasticore metadata (subtract reset, refractory period, ALIF adaptation).
    """
    dt = _graph_dt(graph, dt)
    src, out = _io_names(graph)
    nodes, edges = _flatten(graph)
    lin = _Linear(nodes, edges, src)
    neurons = [k for k, nd in nodes.items() if _is_neuron(nd)]
    for k in neurons:
        if not isinstance(nodes[k], (nir.LIF, nir.CubaLIF, nir.LI)):
            raise NIRRefusal(f"node {k!r} ({_kind(nodes[k])}): not simulated (LIF, CubaLIF and LI only)")
    feeds = {k: lin.inputs_of(k) for k in neurons}
    out_maps, out_bias = lin.inputs_of(out)
    # dependency order: a neuron after the neurons it reads in the same tick (back edges: last tick)
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(k: str) -> None:
        state[k] = 1
        for s in feeds[k][0]:
            if s in feeds and state.get(s) is None:
                visit(s)
        state[k] = 2
        order.append(k)

    for k in neurons:
        if k not in state:
            visit(k)
    x = np.asarray(x, dtype=np.float64)
    ticks = x.shape[0]
    size = {k: int(np.asarray(nodes[k].output_type["output"]).prod()) for k in neurons}
    prev = {k: np.zeros(size[k]) for k in neurons}
    v = {k: np.zeros(size[k]) for k in neurons}
    syn = {k: np.zeros(size[k]) for k in neurons}
    adapt = {k: np.zeros(size[k]) for k in neurons}
    ref = {k: np.zeros(size[k], dtype=np.int64) for k in neurons}
    rec = {k: np.zeros((ticks, size[k])) for k in neurons}
    rec[out] = np.zeros((ticks, int(np.asarray(nodes[out].output_type["output"]).prod())))
    for t in range(ticks):
        cur: dict[str, np.ndarray] = {src: x[t].reshape(-1)}

        for k in order:
            nd, n = nodes[k], size[k]
            maps, bias = feeds[k]
            drive = sum((m @ (cur[s] if s in cur else prev[s]) for s, m in maps.items()), np.zeros(n))
            if bias is not None:
                drive = drive + bias
            meta = _meta(nd) if extensions else {}
            if isinstance(nd, nir.CubaLIF):
                a_syn = np.clip(1.0 - dt / _arr(nd, "tau_syn", n), 0.0, None)
                syn[k] = a_syn * syn[k] + np.minimum(dt / _arr(nd, "tau_syn", n), 1.0) * _arr(nd, "w_in", n) * drive
                drive = syn[k]
                r_in = _arr(nd, "r", n) * dt / _arr(nd, "tau_mem", n)
            else:
                r_in = _arr(nd, "r", n) * dt / _arr(nd, "tau", n)
            tau = _tau(nd, n)
            alpha = 1.0 - dt / tau
            leak = dt / tau * _arr(nd, "v_leak", n)
            if isinstance(nd, nir.LI):
                v[k] = alpha * v[k] + leak + r_in * drive
                cur[k] = v[k].copy()
                rec[k][t] = cur[k]
                continue
            z_prev = prev[k]
            thr = _arr(nd, "v_threshold", n)
            if meta.get(META_RESET) == "subtract":
                v[k] = alpha * v[k] + leak + r_in * drive - thr * z_prev
            else:
                base = np.where(z_prev > 0, _arr(nd, "v_reset", n), v[k])
                v[k] = alpha * base + leak + r_in * drive
            if meta.get(META_MODEL) == "ALIF":
                rho = 1.0 - dt / _arr_meta(meta, META_TAU_ADAPT, n)
                adapt[k] = rho * adapt[k] + _arr_meta(meta, META_ADAPT_INC, n) * z_prev
            z = ((v[k] > thr + adapt[k]) & (ref[k] == 0)).astype(np.float64)
            refractory = int(meta.get(META_REFRACTORY, 0))
            ref[k] = np.where(z > 0, refractory, np.maximum(ref[k] - 1, 0))
            cur[k] = z
            rec[k][t] = z
        y = sum((m @ (cur[s] if s in cur else prev[s]) for s, m in out_maps.items()), np.zeros(rec[out].shape[1]))
        rec[out][t] = y if out_bias is None else y + out_bias
        prev = {k: cur[k] for k in neurons}
    return rec


def _arr_meta(meta: dict[str, Any], key: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(meta[key], dtype=np.float64).reshape(-1), (n,)).copy()


# -- import ----------------------------------------------------------------------------------------


def _decay_q(name: str, tau: np.ndarray, dt: float, cfg: Config, what: str, warn: list[str]) -> int:
    """The chip's decay factor for the NIR time constants ``tau`` (one value for the population)."""
    db = cfg.decay_bits
    if np.any(~np.isfinite(tau)) or np.any(tau <= dt):
        raise NIRRefusal(
            f"node {name!r}: {what} {float(np.min(tau)):g} is not longer than one tick (dt = {dt:g}); "
            f"the chip's decay per tick is 1 - dt/tau > 0 (pass --dt for a graph in seconds)"
        )
    q = np.rint((1.0 - dt / tau) * (1 << db)).astype(np.int64)
    if q.min() != q.max():
        raise NIRRefusal(
            f"node {name!r}: {what} differs between neurons ({float(tau.min()):g}..{float(tau.max()):g}); "
            f"the chip has one {what} per population"
        )
    qv = int(q[0])
    q_min, q_max = decay_factor(0.5, db), (1 << db) - 1
    if qv < q_min:
        raise NIRRefusal(
            f"node {name!r}: {what} {float(tau[0]):g} decays {1 - dt / float(tau[0]):.3f} per tick, below "
            f"the chip's smallest factor {q_min}/{1 << db}"
        )
    if qv > q_max:
        warn.append(
            f"node {name!r}: {what} {float(tau[0]):g} leaks less than the chip's slowest decay "
            f"{q_max}/{1 << db} per tick; clipped to it (raise decay_bits in --base for longer)"
        )
        qv = q_max
    return qv


def _check_zero(name: str, what: str, arr: np.ndarray | None, why: str) -> None:
    if arr is not None and np.any(np.abs(arr) > 0):
        raise NIRRefusal(f"node {name!r}: {what} {float(np.max(np.abs(arr))):g} is not zero; {why}")


def _quantize(x: np.ndarray, scale: float, bits: int) -> tuple[np.ndarray, int]:
    hi = (1 << (bits - 1)) - 1
    q = np.rint(x * scale)
    clipped = int(np.sum((q > hi) | (q < -hi - 1)))
    return np.clip(q, -hi - 1, hi).astype(np.int64), clipped


def import_graph(
    graph: nir.NIRGraph,
    base: Config | None = None,
    dt: float | None = None,
    reset: str | None = None,
    name: str = "nir",
) -> Imported:
    """The chip configuration and quantized weights of a NIR graph of LIF/CubaLIF and Affine/Linear
    nodes (flat, or with snnTorch's recurrent subgraphs). Raises :class:`NIRRefusal` naming the node
    for anything the chip cannot run.

    ``base``: widths, learning and hardware fields (default: the plasticore config embedded in the
    graph, else the preset "small"); ``dt``: the graph's time per tick (default: the graph's
    ``plasticore_dt``, else 1); ``reset``: override the reset mode ("zero", NIR's own, unless the
    node's ``plasticore_reset`` says otherwise; snnTorch's default is "subtract").
    """
    warn: list[str] = []
    dt = _graph_dt(graph, dt)
    gmeta = graph.metadata if isinstance(graph.metadata, dict) else {}
    embedded = Config.from_dict(json.loads(str(gmeta[META_CONFIG]))) if META_CONFIG in gmeta else None
    cfg0 = base or embedded or load_config("small")
    widths = ("w_bits", "wout_bits", "u_bits", "y_bits", "a_bits", "decay_bits")
    keep_scales = embedded is not None and all(getattr(embedded, f) == getattr(cfg0, f) for f in widths)
    src, out = _io_names(graph)
    nodes, edges = _flatten(graph)
    for k, nd in nodes.items():
        if _kind(nd) in _REFUSED:
            raise NIRRefusal(f"node {k!r} ({_kind(nd)}): {_REFUSED[_kind(nd)]}")
    lin = _Linear(nodes, edges, src)
    neurons = [k for k, nd in nodes.items() if _is_neuron(nd)]

    # the readout: Output <- [linear] <- R (LI / LIF / CubaLIF) <- [linear] <- H, or Output <- linear <- H
    out_maps, out_bias = lin.inputs_of(out)
    _check_zero(out, "bias into the output", out_bias, "the chip's readout has no bias")
    if len(out_maps) != 1:
        raise NIRRefusal(
            f"node {out!r} (Output): fed by {len(out_maps)} sources ({', '.join(out_maps)}); the chip "
            f"reads out one population"
        )
    ((r_name, r_map),) = out_maps.items()
    if r_name == src:
        raise NIRRefusal(
            f"node {out!r} (Output): wired to the input; the chip's outputs are its readout of the recurrent population"
        )
    r_in, r_bias = lin.inputs_of(r_name)
    feeders = [s for s in r_in if s != r_name]
    readout: str | None = None
    if feeders and all(s in neurons for s in feeders) and r_name not in r_in:
        # Output <- R <- [linear] <- H: R (LI, or a non-recurrent LIF) is the readout
        if len(feeders) != 1:
            raise NIRRefusal(
                f"node {r_name!r} ({_kind(nodes[r_name])}): a readout fed by {len(feeders)} populations; "
                f"the chip has one"
            )
        if r_map.shape[0] != r_map.shape[1] or not np.allclose(r_map, np.eye(r_map.shape[0])):
            raise NIRRefusal(
                f"node {out!r} (Output): a linear map after the readout {r_name!r}; the chip's outputs "
                f"are the readout itself"
            )
        readout, hid = r_name, feeders[0]
        w_out_f, out_bias = r_in[hid], r_bias
    else:
        hid, w_out_f = r_name, r_map
        if w_out_f.shape[0] == w_out_f.shape[1] and np.allclose(w_out_f, np.eye(w_out_f.shape[0])):
            raise NIRRefusal(
                f"node {out!r} (Output): outputs the spikes of {hid!r} directly; the chip's outputs are "
                f"its leaky readout (Affine/Linear -> LI)"
            )
    h = nodes[hid]
    if not isinstance(h, (nir.LIF, nir.CubaLIF)):
        raise NIRRefusal(f"node {hid!r} ({_kind(h)}): the chip's recurrent population must be LIF or CubaLIF")
    extra = [k for k in neurons if k not in (hid, readout)]
    if extra:
        raise NIRRefusal(
            f"node {extra[0]!r} ({_kind(nodes[extra[0]])}): a second neuron population; the chip has one "
            f"recurrent population and a readout"
        )
    h_maps, h_bias = lin.inputs_of(hid)
    bad = [s for s in h_maps if s not in (src, hid)]
    if bad:
        raise NIRRefusal(f"node {hid!r}: fed by {bad[0]!r}; the population's inputs are the input spikes and itself")
    n_in, n = _size(nodes[src]), int(np.asarray(h.output_type["output"]).prod())
    m_in = h_maps.get(src, np.zeros((n, n_in)))
    m_rec = h_maps.get(hid, np.zeros((n, n)))
    _check_zero(hid, "bias", h_bias, "the chip has no bias current")
    _check_zero(hid, "v_leak", _arr(h, "v_leak", n), "the chip's membrane leaks to 0")
    _check_zero(hid, "v_reset", _arr(h, "v_reset", n), "the chip resets to 0 or subtracts the threshold")
    if isinstance(h, nir.CubaLIF):
        tau_syn = _arr(h, "tau_syn", n)
        if np.any(tau_syn > dt * (1 + 1e-9)):
            raise NIRRefusal(
                f"node {hid!r} (CubaLIF): tau_syn {float(tau_syn.max()):g} is longer than one tick "
                f"(dt = {dt:g}); the chip has no synaptic current filter (tau_syn <= dt only)"
            )
    thr = _arr(h, "v_threshold", n)
    if np.any(thr <= 0):
        raise NIRRefusal(f"node {hid!r}: v_threshold {float(thr.min()):g} is not positive; the chip's threshold is")
    gain = _gain(h, n, dt)
    meta = _meta(h)
    # every neuron's input gain and threshold folded into its row: weights in threshold units
    w_in_t = (gain / thr)[:, None] * m_in
    w_rec_t = (gain / thr)[:, None] * m_rec
    alpha_q = _decay_q(hid, _tau(h, n), dt, cfg0, "tau", warn)

    # ALIF extension
    n_alif, adapt_t, rho_q = 0, 0.0, cfg0.rho_q
    if meta.get(META_MODEL) == "ALIF":
        inc = _arr_meta(meta, META_ADAPT_INC, n) / thr
        alif = inc > 0
        n_alif = int(alif.sum())
        if n_alif and not alif[n - n_alif :].all():
            raise NIRRefusal(
                f"node {hid!r}: ALIF neurons (adapt_inc > 0) must be the last {n_alif} of the population "
                f"(the chip's ALIF neurons are its last n_alif)"
            )
        if n_alif:
            if not np.allclose(inc[alif], inc[alif][0], rtol=1e-6):
                raise NIRRefusal(
                    f"node {hid!r}: adapt_inc / v_threshold differs between ALIF neurons; the chip has one"
                )
            adapt_t = float(inc[alif][0])
            rho_q = _decay_q(hid, _arr_meta(meta, META_TAU_ADAPT, n)[alif], dt, cfg0, "tau_adapt", warn)
    elif meta.get(META_MODEL) not in (None, "LIF"):
        raise NIRRefusal(f"node {hid!r}: plasticore_model {meta.get(META_MODEL)!r} is not LIF or ALIF")

    reset_mode = reset or str(meta.get(META_RESET, "zero"))
    refractory = int(meta.get(META_REFRACTORY, 0))

    # scales of the hidden layer: weight LSBs per threshold, s = threshold / 2**w_shift
    w_bits, u_bits = cfg0.w_bits, cfg0.u_bits
    w_max, u_max = (1 << (w_bits - 1)) - 1, (1 << (u_bits - 1)) - 1
    m = float(max(np.abs(w_in_t).max(initial=0.0), np.abs(w_rec_t).max(initial=0.0)))
    # ``lsb``: soma LSBs per threshold unit. The chip spikes at U >= theta, NIR at v > v_threshold:
    # for an integer U both say the same with theta = floor(lsb) + 1 (export writes theta - 1/2)
    if keep_scales:
        assert embedded is not None
        theta, w_shift = embedded.threshold, embedded.w_shift
        lsb = theta - 0.5
    else:
        theta_limit = max(2, u_max // HEADROOM)
        target = w_max / m if m > 0 else 1.0  # weight LSBs per threshold unit
        theta, w_shift, lsb = 0, 0, 0.0
        for ws in range(u_bits - w_bits, -1, -1):
            if 1 <= target * (1 << ws) and math.floor(target * (1 << ws)) + 1 <= theta_limit:
                lsb, w_shift = target * (1 << ws), ws
                theta = math.floor(lsb) + 1
                break
        if theta == 0:
            if target * (1 << (u_bits - w_bits)) < 1:
                raise NIRRefusal(
                    f"node {hid!r}: weights up to {m:g} thresholds; the chip's {w_bits}-bit weights reach "
                    f"{w_max << (u_bits - w_bits)} soma LSBs over a threshold of at least 1"
                )
            theta, w_shift, lsb = theta_limit, 0, theta_limit - 0.5
            warn.append(
                f"node {hid!r}: weights are small against the threshold (largest {m:g}); the largest uses "
                f"{lsb * m:.1f} of {w_max} weight LSBs (raise u_bits in --base for finer weights)"
            )
    s = lsb / (1 << w_shift)
    w_in_q, c1 = _quantize(w_in_t, s, w_bits)
    w_rec_q, c2 = _quantize(w_rec_t, s, w_bits)
    if c1 + c2:
        warn.append(f"node {hid!r}: {c1 + c2} weights clipped to the {w_bits}-bit range")
    adapt_inc = int(round(adapt_t * lsb))
    a_max = (1 << cfg0.a_bits) - 1
    if n_alif and adapt_inc / ((1 - rho_q / (1 << cfg0.decay_bits)) * (refractory + 1)) > a_max:
        warn.append(
            f"node {hid!r}: ALIF adaptation ({adapt_inc} soma LSBs per spike) can saturate its {cfg0.a_bits} bits"
            f" (a_bits in --base)"
        )

    # readout
    k = w_out_f.shape[0]
    if readout is not None:
        rn = nodes[readout]
        _check_zero(readout, "bias", out_bias, "the chip's readout has no bias")
        if not isinstance(rn, (nir.LI, nir.LIF, nir.CubaLIF)):
            raise NIRRefusal(f"node {readout!r} ({_kind(rn)}): the chip's readout is a leaky integrator (LI)")
        _check_zero(readout, "v_leak", _arr(rn, "v_leak", k), "the chip's readout leaks to 0")
        if isinstance(rn, nir.CubaLIF) and np.any(_arr(rn, "tau_syn", k) > dt * (1 + 1e-9)):
            raise NIRRefusal(
                f"node {readout!r} (CubaLIF): tau_syn longer than one tick; the chip has no synaptic current filter"
            )
        if isinstance(rn, (nir.LIF, nir.CubaLIF)):
            warn.append(
                f"node {readout!r} ({_kind(rn)}): the chip's readout does not spike; imported as a leaky "
                f"integrator (its membrane without threshold and reset)"
            )
        kappa_q = _decay_q(readout, _tau(rn, k), dt, cfg0, "tau", warn)
        w_out_t = _gain(rn, k, dt)[:, None] * w_out_f
    else:
        kappa_q = decay_factor(0.5, cfg0.decay_bits)
        warn.append(
            f"node {out!r}: no leaky readout before the output; the chip's readout leaks with its fastest "
            f"decay {kappa_q}/{1 << cfg0.decay_bits} per tick (tau_out 0.5)"
        )
        w_out_t = w_out_f
    wout_bits, y_bits = cfg0.weight_bits["w_out"], cfg0.y_bits
    wo_max, y_max = (1 << (wout_bits - 1)) - 1, (1 << (y_bits - 1)) - 1
    if keep_scales:
        assert embedded is not None
        s_out, out_shift = 1.0, embedded.out_shift
        w_out_q, c3 = _quantize(w_out_t, s_out, wout_bits)
    else:
        mo = float(np.abs(w_out_t).max(initial=0.0))
        s_out = wo_max / mo if mo > 0 else 1.0
        w_out_q, c3 = _quantize(w_out_t, s_out, wout_bits)
        worst = float(np.abs(w_out_q).sum(axis=1).max(initial=0)) / (1 - kappa_q / (1 << cfg0.decay_bits))
        out_shift = 0
        for os_ in range(y_bits - wout_bits, -1, -1):
            if worst * (1 << os_) <= y_max:
                out_shift = os_
                break
        else:
            warn.append(
                f"node {out!r}: the readout can saturate its {y_bits} bits when many neurons spike together "
                f"for long (worst case {worst:.0f} > {y_max} readout LSBs)"
            )
    if c3:
        warn.append(f"node {out!r}: {c3} readout weights clipped to the {wout_bits}-bit range")

    db = cfg0.decay_bits
    fields_: dict[str, Any] = dict(
        n_in=n_in,
        n_rec=n,
        n_out=k,
        n_alif=n_alif,
        tau_m=tau_for_decay(alpha_q, db),
        tau_a=tau_for_decay(rho_q, db),
        tau_out=tau_for_decay(kappa_q, db),
        threshold=int(theta),
        adapt_inc=adapt_inc,
        refractory=refractory,
        reset=reset_mode,
        w_shift=w_shift,
        out_shift=out_shift,
    )
    if keep_scales:  # keep the config's own time constants where they give the same factors
        for fname, q, prop in (
            ("tau_m", alpha_q, "alpha_q"),
            ("tau_a", rho_q, "rho_q"),
            ("tau_out", kappa_q, "kappa_q"),
        ):
            if getattr(embedded, prop) == q:
                fields_[fname] = getattr(embedded, fname)
        if not n_alif:
            fields_["tau_a"], fields_["adapt_inc"] = embedded.tau_a, embedded.adapt_inc
    elif not n_alif:
        fields_["tau_a"], fields_["adapt_inc"] = cfg0.tau_a, cfg0.adapt_inc
    if base is not None or embedded is None:
        fields_["name"] = name
    if n > 4096 or n_in > 4096 or k > 256:
        raise NIRRefusal(
            f"node {hid!r}: {n_in} inputs, {n} neurons, {k} outputs; the chip takes at most 4096, 4096, 256"
        )
    try:
        cfg = cfg0.replace(**fields_)
    except ValueError as exc:
        raise NIRRefusal(f"node {hid!r}: the chip cannot hold these values: {exc}") from None

    b_fb = None
    if META_B_FB in gmeta:
        b = np.asarray(gmeta[META_B_FB])
        if b.shape == (n, k) and np.array_equal(b, np.rint(b)):
            b_fb = b.astype(np.int64)
    if b_fb is None:
        b_fb = init_weights(cfg).b_fb
    weights = Weights(w_in_q, w_rec_q, w_out_q, b_fb)
    try:
        weights.check(cfg)
    except ValueError as exc:
        raise NIRRefusal(f"graph: the feedback weights in {META_B_FB} do not fit the config: {exc}") from None

    nz = (w_in_t != 0).sum() + (w_rec_t != 0).sum()
    lost = int(((w_in_t != 0) & (w_in_q == 0)).sum() + ((w_rec_t != 0) & (w_rec_q == 0)).sum())
    if nz and lost / nz > 0.1:
        warn.append(f"node {hid!r}: {lost} of {nz} nonzero weights round to 0 at {w_bits} bits")
    report = {
        "config": cfg.name,
        "n_in": n_in,
        "n_rec": n,
        "n_alif": n_alif,
        "n_out": k,
        "dt": dt,
        "population": hid,
        "readout": readout or out,
        "reset": reset_mode,
        "alpha_q": cfg.alpha_q,
        "kappa_q": cfg.kappa_q,
        "threshold": cfg.threshold,
        "w_shift": cfg.w_shift,
        "out_shift": cfg.out_shift,
        "weight_lsb_per_threshold": s,
        "readout_lsb_per_unit": s_out * (1 << out_shift),
        "zeroed_weights": lost,
        "warnings": len(warn),
    }
    return Imported(cfg, weights, warn, report)
