"""``plasticore demo``'s pieces: its board and what it synthesizes there, the phase table, the
board's speed line, the processes beside the chip. The demo's flow on a few samples is
tests/test_cli.py's; ``make demo`` runs it full size."""

import argparse
import json
import time

import pytest

from plasticore.cli import build_parser
from plasticore.demo import (
    DEFAULT_BOARD,
    Phase,
    _Beside,
    _synth_child,
    _task_and_config,
    board_speed,
    format_phases,
    synth_target,
)
from plasticore.golden import load_config


def _args(*argv):
    return build_parser().parse_args(["demo", *argv])


def test_the_demo_synthesizes_the_network_it_trains_on_a_board_that_holds_it():
    args = _args()
    assert args.board == DEFAULT_BOARD == "ulx3s-85f"
    _, _, rule, cfg = _task_and_config(argparse.Namespace(seed=1, train_samples=4, test_samples=4))
    assert (cfg.n_in, cfg.n_rec, cfg.n_out, cfg.lanes, rule) == (64, 200, 10, 4, "erbp")
    assert synth_target(args.board, args.synth_config, cfg) is cfg
    # the flags keep their meaning: the iCEBreaker takes the ice40 preset, --synth-config wins
    assert synth_target("icebreaker", None, cfg) == load_config("ice40")
    assert synth_target("ulx3s-85f", "small", cfg) == load_config("small")
    assert _args("--board", "icebreaker", "--sequential").sequential


def test_the_phase_table_sums_cpu_and_names_the_load():
    phases = [Phase("golden float", 1.0, 11.0, 9.5), Phase("rtl: train", 2.0, 102.0, 99.0)]
    assert phases[1].wall == 100.0
    table = format_phases(phases, 120.0, (1.5, 2.25)).splitlines()
    assert table[1].split()[-4:] == ["10.0", "9.5", "1.0", "11.0"]
    assert table[3].split() == ["total", "120.0", "108.5"]
    assert "2.0 min wall, 1.8 min CPU" in table[4] and "1.50 at the start, 2.25 at the end" in table[4]


def _report(**kw):
    """A synthesis report (``plasticore.synth_report.make_report``'s keys) that misses timing."""
    report = dict(board="ulx3s-85f", config="digits", fits=True, fmax_mhz=10.0, clock_mhz=20.0, timing_met=False)
    return {**report, "rate": 0.05, "cycles_per_tick_learn": 2500.0, "ticks_per_s_learn": 4000.0, **kw}


def test_board_speed_names_the_board_clock_and_ticks_per_second():
    line = board_speed(_report(), cycles_per_learning_tick=4000.0)
    assert line.startswith("ULX3S (Lattice ECP5 LFE5U-85F) runs `digits` at 4,000 learning ticks/s")
    assert "Fmax 10.0 MHz (timing not met at 20)" in line
    assert "2,500 ticks/s at the 4,000 cycles per learning tick the RTL took" in line  # 10 MHz / 4,000
    met = board_speed(_report(timing_met=True, ticks_per_s_learn=8000.0))
    assert "at 8,000 learning ticks/s at its 20.0 MHz clock" in met and "the RTL took" not in met
    assert "does NOT hold" in board_speed(_report(fits=False, ticks_per_s_learn=None))


def test_a_failing_process_beside_the_chip_is_an_error_with_its_traceback(tmp_path):
    beside = _Beside(time.perf_counter())
    try:
        cfg = load_config("small").to_dict()
        beside.start("synthesis", _synth_child, "no-such-board", cfg, tmp_path, tmp_path / "synth.log")
        with pytest.raises(RuntimeError, match="the synthesis process failed") as err:
            beside.wait("synth", "synthesis")
        assert "no-such-board" in str(err.value)
    finally:
        beside.close()


@pytest.mark.slow
def test_demo_with_the_synthesis_beside_the_chip(tmp_path):
    """A few samples with the iCEBreaker's (quick) synthesis beside the chip: the report has
    the synthesis and the time of each phase; the phases overlap."""
    from plasticore.cli import main

    report = tmp_path / "demo"
    argv = ["demo", "--train-samples", "6", "--test-samples", "4", "--epochs", "1", "--board", "icebreaker"]
    assert main([*argv, "--report", str(report)]) == 0
    result = json.loads((report / "result.json").read_text())
    assert result["rtl_equals_fixed"] is True
    assert result["synth"]["board"] == "icebreaker" and result["synth"]["config"] == "ice40"
    assert result["board_speed"].startswith("iCEBreaker")
    phases = {p["name"]: p for p in result["phases"]}
    synth, rtl = phases["synthesis (icebreaker)"], phases["rtl: train + held-out runs"]
    assert synth["start"] < rtl["end"] and rtl["start"] < synth["end"]  # side by side
    assert all(p["cpu"] > 0 and p["wall"] > 0 for p in result["phases"])
    md = (report / "report.md").read_text()
    assert "## Synthesis for icebreaker" in md and "## Time of each phase" in md


def test_the_demos_hardware_options_change_no_value():
    """The demo's network is ``plasticore train --task digits``'s with DEMO_HARDWARE (the
    options that make it meet the ULX3S's clock): the same weights and held-out readouts, so
    ``plasticore train``'s scores on other seeds are the demo's."""
    import dataclasses

    import numpy as np

    from plasticore.compare import golden_way
    from plasticore.demo import DEMO_HARDWARE, demo_spec
    from plasticore.training.common import no_progress
    from plasticore.training.train import TASK_SPECS, task_config

    task, spec, rule, cfg = _task_and_config(argparse.Namespace(seed=2, train_samples=6, test_samples=4))
    assert spec == demo_spec() and DEMO_HARDWARE and all(getattr(cfg, k) == v for k, v in DEMO_HARDWARE.items())
    plain_spec = dataclasses.replace(TASK_SPECS["digits"], epochs=spec.epochs)
    plain = task_config(task.name, rule, task.n_in, spec=plain_spec).replace(seed=2)
    assert plain == cfg.replace(**{k: getattr(plain, k) for k in DEMO_HARDWARE}) and plain != cfg
    demo_way = golden_way("fixed", task, spec, cfg, rule, 1, no_progress)
    plain_way = golden_way("fixed", task, plain_spec, plain, rule, 1, no_progress)
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(getattr(demo_way.weights_after, name), getattr(plain_way.weights_after, name))
    assert np.array_equal(demo_way.train_y, plain_way.train_y) and np.array_equal(
        demo_way.heldout_y, plain_way.heldout_y
    )
    assert np.any(demo_way.weights_after.w_in != demo_way.weights_before.w_in)  # it learned
