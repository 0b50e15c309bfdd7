"""Where cue-reckon's count is lost (plasticore.experiments.cue_recall_drive)."""

import numpy as np

from plasticore.experiments.cue_readout_probe import recall_counts, recall_onset_membranes
from plasticore.experiments.cue_recall_drive import _recall_weights, drive_seed, recall_run, tables
from plasticore.tasks import make_task
from plasticore.training.train import train


def test_a_recall_run_counts_and_reads_the_membranes_as_the_readout_probe_does():
    """Two samples of a one-epoch run: the recall counts and onset membranes of the tick-by-tick
    pass equal the probe's (``heldout_run`` and ``free_run``); a lower recall threshold leaves
    everything before the recall as it was and adds spikes in it."""
    task = make_task("cue-reckon", 4, n_train=2, n_test=2)
    result = train(task, "eprop-symmetric", "fixed", epochs=1, seed=4)
    run = recall_run(result.config, result.weights, task.test)
    counts, _ = recall_counts(result, task.test)
    assert np.array_equal(run.recall_counts, counts)
    assert np.array_equal(run.onset_u, recall_onset_membranes(result, task.test) / result.config.threshold)
    lower = recall_run(result.config, result.weights, task.test, result.config.threshold // 4)
    assert np.array_equal(lower.cue_counts, run.cue_counts) and np.array_equal(lower.onset_u, run.onset_u)
    assert lower.recall_counts.sum() > run.recall_counts.sum()


def test_the_recall_weights_change_only_the_recall_cues_inputs_within_the_rails():
    task = make_task("cue-reckon", 4, n_train=2, n_test=2)
    result = train(task, "eprop-symmetric", "fixed", epochs=1, seed=4)
    w = result.weights
    raised, fixed = _recall_weights(result.config, w, "+100"), _recall_weights(result.config, w, "=60")
    assert np.array_equal(raised.w_in[:, 20:30], np.clip(w.w_in[:, 20:30] + 100, -128, 127))
    assert (fixed.w_in[:, 20:30] == 60).all()
    for changed in (raised, fixed):
        assert np.array_equal(changed.w_in[:, :20], w.w_in[:, :20])
        assert np.array_equal(changed.w_in[:, 30:], w.w_in[:, 30:])


def test_a_seed_reports_every_probe_and_its_table_row():
    run = drive_seed(2, fresh=8, epochs=1, n_train=4)  # both classes among its 4 and the 8 fresh
    assert len(run["curve"]) == 1 and len(run["onset_u_percentiles"]) == 7
    assert 0.0 <= run["below_zero"] <= 1.0 and 0.0 <= run["silent"] <= 1.0
    assert len(run["probes"]) == 10 and all(0.0 <= v <= 1.0 for v in run["probes"].values())
    assert len(run["probes_own"]) == 4 and all(0.0 <= v <= 1.0 for v in run["probes_own"].values())
    text = tables([run])
    assert "| 2 | spec |" in text and "| recall counts, threshold 614 |" in text
