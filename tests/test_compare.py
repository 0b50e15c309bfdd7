"""``plasticore compare``: a whole short training run on the simulated chip equals golden fixed point.

Issue 6 asks for a training run of at least 20 samples through the RTL that ends with golden's
weights; issue 8 for the compare command, its JSON contract and its report folder. Both run
here on reduced networks (one Verilator build each, cached between runs).
"""

import dataclasses
import json

import numpy as np
import pytest

from plasticore.chip_train import epoch_registers, train_on_chip, weights_equal
from plasticore.cli import main
from plasticore.compare import COMPARE_SPECS, load_compare_task
from plasticore.compare_report import PLOTS
from plasticore.golden import preset
from plasticore.host import Host
from plasticore.training.train import train

CONTRACT = {"task", "float", "fixed", "rtl", "rtl_equals_fixed", "report"}


def small_config(tmp_path, **fields):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(fields))
    return str(path)


@pytest.mark.parametrize(
    "task, rule, fields, n_train",
    [
        # eRBP on digits: 64 inputs, 10 outputs, 24 samples
        (
            "digits",
            "erbp",
            dict(
                base="small",
                name="digits16",
                n_in=64,
                n_rec=16,
                n_alif=0,
                n_out=10,
                lr_shift=14,
                out_lr_shift=14,
                pseudo_derivative="boxcar",
            ),
            24,
        ),
        # e-prop with symmetric feedback (B = Wout^T mirrored on chip) on cue accumulation, ALIF
        (
            "cue",
            "eprop-symmetric",
            dict(
                base="small",
                name="cue16",
                n_in=40,
                n_rec=16,
                n_alif=8,
                n_out=2,
                lr_shift=14,
                out_lr_shift=14,
                decay_bits=12,
            ),
            20,
        ),
    ],
)
def test_compare_trains_the_rtl_to_golden_fixed_bit_for_bit(tmp_path, capsys, task, rule, fields, n_train):
    out = tmp_path / "result.json"
    report = tmp_path / "report"
    code = main(
        [
            "compare",
            "--task",
            task,
            "--rule",
            rule,
            "--config",
            small_config(tmp_path, **fields),
            "--train-samples",
            str(n_train),
            "--test-samples",
            "6",
            "--epochs",
            "1",
            "--quiet",
            "--report",
            str(report),
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert code == 0, printed
    assert CONTRACT <= result.keys()
    assert result["rtl_equals_fixed"] is True and all(result["checks"].values())
    assert result["n_train"] == n_train
    for way in ("float", "fixed", "rtl"):
        assert {"metric", "value", "seconds"} <= result[way].keys()
        assert result[way]["metric"] == "accuracy"
        assert 0.0 <= result[way]["value"] <= 1.0
    assert result["rtl"]["value"] == result["fixed"]["value"]
    assert result["rtl"]["curve"] == result["fixed"]["curve"]
    assert result["rtl"]["cycles_per_tick"]["learn"] > 0
    assert "RTL == fixed: yes" in printed and f"report: {report / 'report.md'}" in printed
    for name in PLOTS:
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    md = (report / "report.md").read_text()
    assert "yes, bit for bit" in md and all(f"({name})" in md for name in PLOTS)
    # guards the equality against a vacuous pass: the chip learned, in every weight matrix
    w = np.load(report / "weights.npz")
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(w[f"rtl_{name}"], w[f"fixed_{name}"]), name
        assert (w[f"rtl_{name}"] != w[f"before_{name}"]).any(), f"{name} did not learn"


def test_compare_with_a_rewiring_synapse_table(tmp_path, capsys):
    """Issue 22's whole run through the RTL with rewiring: digits on 16 LIF whose Win/Wrec are
    2 slot words of 4 per row with DEEP R; the chip ends with golden fixed point's table (every
    slot's column and weight) after golden re-targeted slots."""
    fields = dict(base="small", name="digits16", n_in=64, n_rec=16, n_alif=0, n_out=10, lr_shift=14, out_lr_shift=14)
    out = tmp_path / "result.json"
    args = ["compare", "--task", "digits", "--rule", "erbp", "--config", small_config(tmp_path, **fields)]
    args += ["--connectivity", "0.5", "--rewire", "--train-samples", "16", "--test-samples", "4", "--epochs", "1"]
    code = main([*args, "--quiet", "--report", str(tmp_path / "report"), "--json", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert code == 0, printed
    assert result["config"]["connectivity"] == 0.5 and result["config"]["rewire"] is True
    assert result["rtl_equals_fixed"] is True and all(result["checks"].values())
    assert result["checks"]["weights table columns"] and result["checks"]["weights table weights"]
    assert result["fixed"]["rewired"] > 0  # the wiring moved, and the chip's moved the same way


def test_compare_runs_cue_reckon_on_the_rtl_with_its_readout_trace(tmp_path, capsys):
    """Issue 20's task at the silicon anchor's shape (40-100-2, 2,250 ticks a sample) with its
    default network (16-bit traces, the readout's own trace, clamp, step, regularization) and
    rule: 3 samples through the chip end with golden fixed point's weights and readouts."""
    out = tmp_path / "result.json"
    args = ["compare", "--task", "cue-reckon", "--train-samples", "3", "--test-samples", "2", "--epochs", "1"]
    code = main([*args, "--quiet", "--report", str(tmp_path / "report"), "--json", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert code == 0, printed
    cfg = result["config"]
    assert (cfg["n_in"], cfg["n_rec"], cfg["n_out"], cfg["rule"]) == (40, 100, 2, "eprop_symmetric")
    assert cfg["tau_readout_trace"] == 1928.0 and cfg["trace_bits"] == 16 and cfg["rate_target"] is not None
    assert result["rtl_equals_fixed"] is True and all(result["checks"].values())
    w = np.load(tmp_path / "report" / "weights.npz")
    assert (w["rtl_w_out"] != w["before_w_out"]).any()


def test_annealed_rates_on_the_chip_equal_golden_fixed_point():
    """Issue 20 item 2: a spec that anneals its learning rates every epoch trains on the chip
    through its run-time registers, ending with golden fixed point's weights and curve."""
    cfg = preset("small").replace(name="digits16", n_in=64, n_rec=16, n_alif=0, n_out=10, lr_shift=14, out_lr_shift=14)
    spec = dataclasses.replace(COMPARE_SPECS["digits"], anneal_every=1)
    task = load_compare_task("digits", 1, spec, n_train=8, n_test=4)
    golden = train(task, "erbp", "fixed", cfg=cfg, epochs=3, seed=cfg.seed, spec=spec)
    assert golden.config.lr_shift == 14 and epoch_registers(golden.config, spec, 2).lr_shift == 16
    with Host.simulated(golden.config) as chip:
        run = train_on_chip(chip, task, spec, epochs=3)
        assert chip.read_learning_registers() == epoch_registers(golden.config, spec, 2)
    assert run.curve[1:] == golden.curve
    assert all(weights_equal(golden.config, golden.weights, run.weights_after).values())
    # not vacuous: the annealed rates differ from constant ones in what they learn
    constant = train(task, "erbp", "fixed", cfg=cfg, epochs=3, seed=cfg.seed, spec=COMPARE_SPECS["digits"])
    assert not np.array_equal(constant.weights.w_out, golden.weights.w_out)


def test_hidden_learning_switched_off_by_the_host_equals_golden_fixed_point():
    """A spec whose hidden learning stops after its first epochs (``hidden_epochs``) clears the
    chip's learn_input / learn_recurrent registers between epochs, as golden's loop does."""
    cfg = preset("small").replace(name="digits16", n_in=64, n_rec=16, n_alif=0, n_out=10, lr_shift=14, out_lr_shift=14)
    spec = dataclasses.replace(COMPARE_SPECS["digits"], hidden_epochs=2)
    task = load_compare_task("digits", 1, spec, n_train=8, n_test=4)
    golden = train(task, "erbp", "fixed", cfg=cfg, epochs=3, seed=cfg.seed, spec=spec)
    regs = epoch_registers(golden.config, spec, 2)
    assert epoch_registers(golden.config, spec, 1).learn_input and not (regs.learn_input or regs.learn_recurrent)
    with Host.simulated(golden.config) as chip:
        run = train_on_chip(chip, task, spec, epochs=3)
        assert chip.read_learning_registers() == regs
    assert run.curve[1:] == golden.curve
    assert all(weights_equal(golden.config, golden.weights, run.weights_after).values())
    # the third epoch moved the readout only
    two = train(task, "erbp", "fixed", cfg=cfg, epochs=2, seed=cfg.seed, spec=spec)
    for hidden in ("w_in", "w_rec"):
        assert np.array_equal(getattr(two.weights, hidden), getattr(golden.weights, hidden))
    assert not np.array_equal(two.weights.w_out, golden.weights.w_out)


def test_bad_requests_are_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--task", "digits", "--rule", "bptt"])
    assert "invalid choice" in capsys.readouterr().err
    # small has 2 outputs, digits needs 10
    assert main(["compare", "--task", "digits", "--config", "small", "--quiet", "--report", str(tmp_path / "r")]) == 2
    assert "n_out" in capsys.readouterr().err
