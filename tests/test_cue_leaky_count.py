"""The leaky count of cue-reckon's cues (plasticore.experiments.cue_leaky_count)."""

import math

import pytest

from plasticore.experiments.cue_leaky_count import leaky_count_accuracy, main
from plasticore.tasks import make_task


def test_a_plain_count_separates_the_cues_and_a_short_leak_loses_early_ones():
    task = make_task("cue-reckon", 1, n_train=1, n_test=100)
    plain = leaky_count_accuracy(task, math.inf)
    assert plain >= 0.98
    # at the recall a 500-tick leak weighs the first cue 6x less than the last (exp(-1,800 / 500))
    assert leaky_count_accuracy(task, 500.0) < leaky_count_accuracy(task, 1928.0) <= plain


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--n-test", "0"])
    with pytest.raises(SystemExit):
        main(["--taus", "-1"])
    assert "must be positive" in capsys.readouterr().err
