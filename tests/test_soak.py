"""The soak (``python -m plasticore.bench soak``) on one short run: its golden side predicts
what the RTL does, so a soak that reports differences is reporting the chip's."""

from plasticore.bench.soak import soak_config
from plasticore.cosim.stimulus import random_config


def test_a_short_soak_of_a_readout_trace_table_config_finds_no_difference():
    """random1012 keeps the readout's own trace and a rewiring synapse table: the soak's cycle
    prediction must count the readout rows by z~ (it counted them by z_bar: one cycle off on
    some learning ticks), and it compares z~ every window."""
    cfg = random_config(1012)
    assert cfg.tau_readout_trace is not None and cfg.rewire
    report = soak_config(cfg, ticks=1280, frames=20, seed=1)
    assert report.learning_ticks > 0 and report.weight_changes > 0
    assert report.tick_mismatches == 0, report.examples
    assert report.fuzz_mismatches == 0, report.examples
