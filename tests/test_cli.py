"""The command line as a user meets it."""

import json
import subprocess
import sys

from plasticore.cli import main


def plasticore(*args):
    return subprocess.run([sys.executable, "-m", "plasticore", *args], capture_output=True, text=True)


def test_help_lists_the_commands():
    out = plasticore("--help")
    assert out.returncode == 0
    for command in ("run", "demo", "train", "compare", "cosim", "synth"):
        assert command in out.stdout


def test_run_prints_a_spike_summary(tmp_path):
    path = tmp_path / "summary.json"
    out = plasticore("run", "--config", "small", "--ticks", "100", "--json", str(path))
    assert out.returncode == 0, out.stderr
    assert "spikes:" in out.stdout and "raster" in out.stdout
    summary = json.loads(path.read_text())
    assert summary["ticks"] == 100 and summary["config"] == "small"
    assert summary["spikes"] > 0
    assert f"spikes: {summary['spikes']} total" in out.stdout


def test_run_is_reproducible(capsys):
    assert main(["run", "--ticks", "50", "--quiet", "--no-raster"]) == 0
    first = capsys.readouterr().out
    assert main(["run", "--ticks", "50", "--quiet", "--no-raster"]) == 0
    second = capsys.readouterr().out
    strip = lambda s: [l for l in s.splitlines() if not l.startswith("golden speed")]  # noqa: E731,E741
    assert strip(first) == strip(second)


def test_bad_config_is_a_clear_error_not_a_traceback():
    out = plasticore("run", "--config", "nonsense")
    assert out.returncode == 2
    assert "neither a preset" in out.stderr and "Traceback" not in out.stderr
    out = plasticore("run", "--rate", "3")
    assert out.returncode == 2 and "rate: 3.0 is outside the allowed range 0..1" in out.stderr


def test_demo_runs_and_says_where_the_report_is(tmp_path):
    """The demo's flow on a few samples (``make demo`` runs it full size, with the synthesis):
    10 images of 40 ticks, the 400 learning ticks the demo's earlier 20-tick network had here."""
    report = tmp_path / "demo"
    out = plasticore(
        "demo", "--train-samples", "10", "--test-samples", "5", "--epochs", "1", "--no-synth", "--report", str(report)
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RTL == fixed: yes, bit for bit" in out.stdout
    assert out.stdout.splitlines()[-1] == f"report: {report / 'report.md'}"
    result = json.loads((report / "result.json").read_text())
    assert result["task"] == "digits" and result["rtl_equals_fixed"] is True


def test_cosim_of_the_synapse_table_with_rewiring(tmp_path):
    """``plasticore cosim --connectivity F --rewire``: the table's slots (wiring and weights)
    compared with golden's as the weights are; the JSON says how many slots moved."""
    path = tmp_path / "cosim.json"
    out = plasticore(
        "cosim", "--config", "small", "--learn", "eprop", "--connectivity", "0.25", "--rewire", "--ticks", "200",
        "--json", str(path), "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(path.read_text())
    assert result["mismatches"] == 0 and result["rewire"] is True and result["slot_words"] == 2
    assert result["rewired"] > 0
    assert f"rewire on: {result['rewired']} slots re-targeted" in out.stdout
