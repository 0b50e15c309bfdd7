"""The readout probe of cue-reckon's trained networks (plasticore.experiments.cue_readout_probe)."""

from plasticore.experiments.cue_readout_probe import FRESH_SEED_OFFSET, probe_seed, table
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, evaluate, numerics_by_name, train


def test_the_probe_scores_the_trained_networks_own_readout_as_training_does():
    """A one-epoch, four-sample run: ``fresh`` is the network's own accuracy on the fresh test
    split as the trainer scores it, ``heldout`` the trainer's value."""
    run = probe_seed(3, fresh=6, epochs=1, n_train=4)
    result = train(make_task("cue-reckon", 3, n_train=4), "eprop-symmetric", "fixed", epochs=1, seed=3)
    fresh = make_task("cue-reckon", FRESH_SEED_OFFSET + 3, n_train=6, n_test=6)
    scale = TASK_SPECS["cue-reckon"].target_scale
    assert run["fresh"] == evaluate(result.config, numerics_by_name("fixed"), result.weights, fresh, scale)
    assert run["heldout"] == result.value
    assert 0.0 <= run["probe_own"] <= 1.0 and 0.0 <= run["probe_fresh"] <= 1.0
    assert "| 3 |" in table([run])
