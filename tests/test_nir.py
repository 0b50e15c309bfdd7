"""NIR export and import (plasticore.nir_io, ``plasticore nir``): round trips keep every bit, graphs
written the way snnTorch and Norse write them run on the chip within the documented quantization
bound of a float simulation, and what the chip cannot run is refused in one line."""

import json

import nir
import numpy as np
import pytest

from plasticore import nir_io
from plasticore.cli import main
from plasticore.golden import Config, init_weights, load_config, poisson_inputs, run

#: the bound of the README's section "NIR": chip spikes (8-bit weights, 8-bit decays) against the
#: float64 simulation of the same NIR graph, per run. Measured over 20 seeds each: snnTorch-style
#: graphs agree on >= 98.4 % of (neuron, tick) pairs with total spike counts within 3.2 %;
#: Norse-style graphs >= 96.6 % and 2.4 %; the chip's own exported networks >= 95.3 % (reckon).
MIN_PAIR_AGREEMENT = 0.95
MAX_COUNT_ERROR = 0.05
WEIGHTS = ("w_in", "w_rec", "w_out", "b_fb")


def agreement(z_chip, z_float):
    z_chip, z_float = np.asarray(z_chip), np.asarray(z_float)
    pairs = float((z_chip == z_float).mean())
    count = abs(float(z_chip.sum()) - float(z_float.sum())) / max(1.0, float(z_float.sum()))
    return pairs, count


# -- graphs as snnTorch and Norse write them -------------------------------------------------------


def snntorch_graph(seed, n_in=20, n=40, k=3, beta=0.9, dt=1e-4, w_scale=1.0):
    """``Linear -> RLeaky -> Linear -> Leaky(output)`` as snnTorch's export writes it: time constants
    ``dt / (1 - beta)`` with dt = 1e-4, ``r = tau / dt``, threshold 1, Affine with zero bias, the
    recurrent layer a subgraph with a recurrent Linear edge."""
    rng = np.random.default_rng(seed)
    tau = np.full(n, dt / (1 - beta))
    rnn = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([n])}),
            "lif": nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n), v_threshold=np.ones(n)),
            "w_rec": nir.Linear(weight=rng.normal(0, 0.2 / np.sqrt(n), (n, n))),
            "output": nir.Output(output_type={"output": np.array([n])}),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    tau_o = np.full(k, dt / (1 - 0.95))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=rng.normal(0, 2 * w_scale / np.sqrt(n_in), (n, n_in)), bias=np.zeros(n)),
        "rnn": rnn,
        "fc2": nir.Affine(weight=rng.normal(0, 1 / np.sqrt(n), (k, n)), bias=np.zeros(k)),
        "lif_out": nir.LIF(tau=tau_o, r=tau_o / dt, v_leak=np.zeros(k), v_threshold=np.ones(k)),
        "output": nir.Output(output_type={"output": np.array([k])}),
    }
    edges = [("input", "fc1"), ("fc1", "rnn"), ("rnn", "fc2"), ("fc2", "lif_out"), ("lif_out", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def norse_graph(seed, n_in=20, n=40, k=3, dt=1e-3, cuba=False):
    """A flat graph as Norse writes it: time constants in seconds (``1 / tau_mem_inv``), ``r = 1``,
    LIFBoxCell -> LIF or LIFCell -> CubaLIF (here with tau_syn = dt), an LI readout, and the
    recurrent Linear as a cycle of the graph."""
    rng = np.random.default_rng(seed)
    tau = np.full(n, 0.01)
    common = dict(r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    lif = (
        nir.CubaLIF(tau_mem=tau, tau_syn=np.full(n, dt), w_in=np.ones(n), **common)
        if cuba
        else nir.LIF(tau=tau, **common)
    )
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "linear_in": nir.Linear(weight=rng.normal(0, 10 / np.sqrt(n_in), (n, n_in))),
        "lif": lif,
        "linear_rec": nir.Linear(weight=rng.normal(0, 4 / np.sqrt(n), (n, n))),
        "linear_out": nir.Linear(weight=rng.normal(0, 1.0, (k, n))),
        "li": nir.LI(tau=np.full(k, 0.02), r=np.ones(k), v_leak=np.zeros(k)),
        "output": nir.Output(output_type={"output": np.array([k])}),
    }
    edges = [
        ("input", "linear_in"),
        ("linear_in", "lif"),
        ("lif", "linear_rec"),
        ("linear_rec", "lif"),
        ("lif", "linear_out"),
        ("linear_out", "li"),
        ("li", "output"),
    ]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def chip_vs_float(graph, dt, seed, ticks=200, rate=0.2, population="lif", **kw):
    imported = nir_io.import_graph(graph, dt=dt, **kw)
    x = (np.random.default_rng(100 + seed).random((ticks, imported.config.n_in)) < rate).astype(np.int64)
    rec = run(imported.config, imported.weights, x[:, None, :], "fixed")
    sim = nir_io.simulate(graph, x, dt=dt)
    return imported, rec, sim, agreement(rec.z[:, 0, :], sim[population])


# -- export / import round trip --------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [
        load_config("small"),
        load_config("small").replace(
            n_alif=0, reset="zero", refractory=0, w_bits=10, w_shift=2, decay_bits=12, tau_m=7.5
        ),
    ],
    ids=["small-alif-subtract", "lif-zero-10bit"],
)
def test_round_trip_keeps_the_config_and_every_weight_bit(tmp_path, cfg):
    w = init_weights(cfg)
    nir_io.write_nir(tmp_path / "net.nir", cfg, w)
    back = nir_io.import_graph(nir_io.read_nir(tmp_path / "net.nir"))
    assert back.warnings == []
    assert back.config.to_dict() == cfg.to_dict()
    for name in ("alpha_q", "rho_q", "kappa_q"):
        assert getattr(back.config, name) == getattr(cfg, name)
    for name in WEIGHTS:
        assert np.array_equal(getattr(back.weights, name), getattr(w, name)), name


def test_export_writes_the_documented_mapping():
    cfg = load_config("small")
    g = nir_io.export_graph(cfg, init_weights(cfg))
    lif, li = g.nodes["lif"], g.nodes["readout"]
    assert isinstance(lif, nir.LIF) and isinstance(li, nir.LI)
    # forward Euler over one tick: 1 - dt/tau is the chip's decay factor; r = tau/dt: gain one per tick
    assert np.allclose(1 - 1 / lif.tau, cfg.alpha_q / 2**cfg.decay_bits)
    assert np.allclose(1 - 1 / li.tau, cfg.kappa_q / 2**cfg.decay_bits)
    assert np.allclose(lif.r, lif.tau)
    assert np.allclose(lif.v_threshold, (cfg.threshold - 0.5) / 2**cfg.w_shift)
    assert lif.metadata["plasticore_model"] == "ALIF" and lif.metadata["plasticore_reset"] == "subtract"
    inc = lif.metadata["adapt_inc"]
    assert np.all(inc[: cfg.n_lif] == 0) and np.allclose(inc[cfg.n_lif :], cfg.adapt_inc / 2**cfg.w_shift)
    assert np.allclose(1 - 1 / lif.metadata["tau_adapt"], cfg.rho_q / 2**cfg.decay_bits)
    assert set(g.edges) >= {("lif", "w_rec"), ("w_rec", "lif"), ("input", "w_in"), ("w_in", "lif")}


def test_exported_network_in_float_matches_the_chip():
    """The exported graph, simulated in float64 with NIR's dynamics (and the ALIF, subtract-reset and
    refractory extensions), spikes like the golden chip."""
    cfg = load_config("small")
    w = init_weights(cfg)
    x = poisson_inputs(cfg, 300, 0.1, seed=5)
    rec = run(cfg, w, x, "fixed")
    sim = nir_io.simulate(nir_io.export_graph(cfg, w), x[:, 0, :])
    pairs, count = agreement(rec.z[:, 0, :], sim["lif"])
    assert rec.z.sum() > 500
    assert pairs >= MIN_PAIR_AGREEMENT and count <= MAX_COUNT_ERROR
    # the readout, in units of 2**out_shift readout LSBs, follows while the spikes agree
    first = int(np.argmax((rec.z[:, 0, :] != sim["lif"]).any(1)))
    y_chip = rec.y[:first, 0, :] / 2**cfg.out_shift
    assert np.abs(y_chip - sim["output"][:first]).max() <= 0.5 / (1 - cfg.kappa_q / 256) + 1e-9


# -- graphs of other tools -------------------------------------------------------------------------


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_snntorch_style_graph_runs_on_the_chip_within_the_bound(reset):
    for seed in range(4):
        g = snntorch_graph(seed)
        if reset == "subtract":  # what the reset metadata (or --reset subtract) tells both sides
            g.nodes["rnn"].nodes["lif"].metadata["plasticore_reset"] = "subtract"
        imported, rec, sim, (pairs, count) = chip_vs_float(g, 1e-4, seed, population="rnn.lif")
        cfg = imported.config
        assert (cfg.n_in, cfg.n_rec, cfg.n_out, cfg.n_alif, cfg.reset, cfg.refractory) == (20, 40, 3, 0, reset, 0)
        assert cfg.alpha_q == round(0.9 * 256) and cfg.kappa_q == round(0.95 * 256)
        assert any("does not spike" in w for w in imported.warnings)  # the output Leaky became the readout
        assert sim["rnn.lif"].mean() > 0.05
        assert pairs >= MIN_PAIR_AGREEMENT and count <= MAX_COUNT_ERROR, (seed, pairs, count)


@pytest.mark.parametrize("cuba", [False, True], ids=["LIF", "CubaLIF-tau_syn=dt"])
def test_norse_style_graph_runs_on_the_chip_within_the_bound(cuba):
    for seed in range(4):
        imported, rec, sim, (pairs, count) = chip_vs_float(norse_graph(seed, cuba=cuba), 1e-3, seed)
        assert imported.report["readout"] == "li"
        assert pairs >= MIN_PAIR_AGREEMENT and count <= MAX_COUNT_ERROR, (seed, pairs, count)
        y = rec.y[:, 0, :] / imported.report["readout_lsb_per_unit"]
        assert np.corrcoef(y.ravel(), sim["output"].ravel())[0, 1] > 0.9


def test_threshold_and_gain_differences_fold_into_the_weights():
    """Per-neuron thresholds and input gains (r) are a neuron's voltage scale: the chip's single
    threshold takes them in its weight rows, and the spikes stay within the bound."""
    g = norse_graph(3)
    scale = np.linspace(0.5, 2.0, 40)
    g.nodes["lif"].v_threshold = g.nodes["lif"].v_threshold * scale
    g.nodes["lif"].r = g.nodes["lif"].r * scale
    _, _, _, (pairs, count) = chip_vs_float(g, 1e-3, 3)
    assert pairs >= MIN_PAIR_AGREEMENT and count <= MAX_COUNT_ERROR


# -- the command line ------------------------------------------------------------------------------


def test_cli_export_then_import(tmp_path, capsys):
    cfg = load_config("small")
    w = init_weights(cfg)
    nir_io.save_weights(tmp_path / "w.npz", w)  # no config stored: --config names it
    assert (
        main(
            [
                "nir",
                "export",
                "--config",
                "small",
                "--weights",
                str(tmp_path / "w.npz"),
                "--out",
                str(tmp_path / "net.nir"),
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["n_alif"] == cfg.n_alif
    assert (
        main(
            [
                "nir",
                "import",
                str(tmp_path / "net.nir"),
                "--out-config",
                str(tmp_path / "c.json"),
                "--out-weights",
                str(tmp_path / "w2.npz"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["warnings"] == 0
    back = load_config(str(tmp_path / "c.json"))  # a file --config accepts
    assert back == cfg
    w2, stored = nir_io.load_weights(tmp_path / "w2.npz")
    assert stored == cfg
    for name in WEIGHTS:
        assert np.array_equal(getattr(w2, name), getattr(w, name))


def test_cli_export_refuses_float_weights(tmp_path, capsys):
    cfg = load_config("small")
    w = init_weights(cfg).astype(np.float64)
    w = type(w)(w.w_in + 0.25, w.w_rec, w.w_out, w.b_fb)
    nir_io.save_weights(tmp_path / "w.npz", w, cfg)
    assert main(["nir", "export", "--weights", str(tmp_path / "w.npz"), "--out", str(tmp_path / "n.nir")]) == 2
    assert "non-integer" in capsys.readouterr().err


def _with_hidden(**changes):
    n = 4
    lif = dict(tau=np.full(n, 10.0), r=np.full(n, 10.0), v_leak=np.zeros(n), v_threshold=np.ones(n))
    lif.update(changes)
    return nir.LIF(**lif)


def _chain(*middle, n_in=3, k=2, in_shape=None):
    nodes = {"input": nir.Input(input_type={"input": np.array(in_shape or [n_in])})}
    nodes.update(middle)
    nodes["output"] = nir.Output(output_type={"output": np.array([k])})
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:], strict=False)), type_check=False)


def _li(k=2):
    return nir.LI(tau=np.full(k, 10.0), r=np.full(k, 10.0), v_leak=np.zeros(k))


REFUSED = {
    "conv": (
        _chain(
            (
                "conv",
                nir.Conv1d(
                    input_shape=3,
                    weight=np.ones((1, 1, 3)),
                    stride=1,
                    padding=1,
                    dilation=1,
                    groups=1,
                    bias=np.zeros(1),
                ),
            ),
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            ("lif", _with_hidden()),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'conv' (Conv1d): convolutions",
    ),
    "cuba_tau_syn": (
        _chain(
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            (
                "lif",
                nir.CubaLIF(
                    tau_syn=np.full(4, 5.0),
                    tau_mem=np.full(4, 10.0),
                    r=np.ones(4),
                    v_leak=np.zeros(4),
                    v_threshold=np.ones(4),
                ),
            ),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'lif' (CubaLIF): tau_syn 5 is longer than one tick",
    ),
    "v_leak": (
        _chain(
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            ("lif", _with_hidden(v_leak=np.full(4, 0.1))),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'lif': v_leak 0.1 is not zero",
    ),
    "bias": (
        _chain(
            ("fc", nir.Affine(weight=np.ones((4, 3)), bias=np.full(4, 0.2))),
            ("lif", _with_hidden()),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'lif': bias 0.2 is not zero",
    ),
    "if": (
        _chain(
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            ("if", nir.IF(r=np.ones(4), v_threshold=np.ones(4))),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'if' (IF): the chip's neurons always leak",
    ),
    "two_layers": (
        _chain(
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            ("lif1", _with_hidden()),
            ("fc2", nir.Linear(weight=np.ones((4, 4)))),
            ("lif2", _with_hidden()),
            ("fc3", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'lif1' (LIF): a second neuron population",
    ),
    "tau_too_short": (
        _chain(
            ("fc", nir.Linear(weight=np.ones((4, 3)))),
            ("lif", _with_hidden(tau=np.full(4, 1e-4), r=np.full(4, 1e-4))),
            ("fc2", nir.Linear(weight=np.ones((2, 4)))),
            ("li", _li()),
        ),
        "'lif': tau 0.0001 is not longer than one tick",
    ),
    "spikes_out": (
        _chain(("fc", nir.Linear(weight=np.ones((4, 3)))), ("lif", _with_hidden()), k=4),
        "outputs the spikes of 'lif' directly",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_name_the_node_in_one_line(tmp_path, capsys, case):
    graph, message = REFUSED[case]
    with pytest.raises(nir_io.NIRRefusal, match=message.replace("(", r"\(").replace(")", r"\)")):
        nir_io.import_graph(graph)
    nir.write(tmp_path / "g.nir", graph)
    code = main(
        [
            "nir",
            "import",
            str(tmp_path / "g.nir"),
            "--out-config",
            str(tmp_path / "c.json"),
            "--out-weights",
            str(tmp_path / "w.npz"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("plasticore nir: error: node ") and message in err
    assert not (tmp_path / "c.json").exists()


def test_strict_refuses_on_a_warning(tmp_path, capsys):
    nir.write(tmp_path / "s.nir", snntorch_graph(0))
    assert (
        main(
            [
                "nir",
                "import",
                str(tmp_path / "s.nir"),
                "--dt",
                "1e-4",
                "--strict",
                "--out-config",
                str(tmp_path / "c.json"),
                "--out-weights",
                str(tmp_path / "w.npz"),
            ]
        )
        == 2
    )
    assert "does not spike" in capsys.readouterr().err


def test_imported_config_runs_with_the_other_commands(tmp_path, capsys):
    nir.write(tmp_path / "s.nir", snntorch_graph(1))
    assert (
        main(
            [
                "nir",
                "import",
                str(tmp_path / "s.nir"),
                "--dt",
                "1e-4",
                "--reset",
                "subtract",
                "--out-config",
                str(tmp_path / "c.json"),
                "--out-weights",
                str(tmp_path / "w.npz"),
            ]
        )
        == 0
    )
    assert "warning" in capsys.readouterr().err
    cfg = load_config(str(tmp_path / "c.json"))
    assert isinstance(cfg, Config) and cfg.reset == "subtract" and cfg.name == "c"
    assert main(["run", "--config", str(tmp_path / "c.json"), "--ticks", "5", "--quiet", "--no-raster"]) == 0


def test_alif_extension_without_the_embedded_config():
    """A graph whose LIF node carries the ALIF metadata but no plasticore config (a graph edited or
    written by another tool): the last neurons become ALIF, with the threshold-relative adaptation
    kept; scales are chosen anew, so the 8-bit weights are re-quantized (+-1 LSB) and only the spike
    counts are held to the bound (measured: within 1.1 % over 10 seeds)."""
    cfg = load_config("small")
    w = init_weights(cfg)
    g = nir_io.export_graph(cfg, w)
    del g.metadata["plasticore_config"]
    imported = nir_io.import_graph(g)
    got = imported.config
    assert (got.n_alif, got.reset, got.refractory, got.rho_q, got.alpha_q) == (
        cfg.n_alif,
        cfg.reset,
        cfg.refractory,
        cfg.rho_q,
        cfg.alpha_q,
    )
    assert got.adapt_inc / got.threshold == pytest.approx(cfg.adapt_inc / cfg.threshold, rel=0.01)
    x = poisson_inputs(cfg, 300, 0.1, seed=5)
    rec = run(got, imported.weights, x, "fixed")
    _, count = agreement(rec.z[:, 0, :], nir_io.simulate(g, x[:, 0, :])["lif"])
    assert count <= MAX_COUNT_ERROR


def test_train_saves_weights_for_export(tmp_path, capsys):
    path = tmp_path / "w.npz"
    assert (
        main(
            [
                "train",
                "--task",
                "cue",
                "--train-samples",
                "2",
                "--test-samples",
                "2",
                "--epochs",
                "1",
                "--quiet",
                "--save-weights",
                str(path),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "task",
        "rule",
        "numerics",
        "metric",
        "value",
        "curve",
        "seconds",
        "connectivity",
        "rewire",
        "active_synapses",
        "rewired",
        "hidden_layers",
    }
    w, cfg = nir_io.load_weights(path)
    assert cfg is not None and cfg.name == "cue" and w.w_rec.shape == (cfg.n_rec, cfg.n_rec)
    assert main(["nir", "export", "--weights", str(path), "--out", str(tmp_path / "cue.nir")]) == 0
    back = nir_io.import_graph(nir_io.read_nir(tmp_path / "cue.nir"))
    assert back.config == cfg and np.array_equal(back.weights.w_rec, w.w_rec)
