"""Fuzzing the protocol engine on Verilator (cocotb): every reply as the reference model says,
nothing committed from a bad frame, the engine answering valid frames afterwards.

Default run: 2000 cases on ``small`` (the build is shared with tests/test_host_sim.py).
Slow (`make bench`): 20000 cases on ``small``, and campaigns on ``reckon`` and on random
configurations (each its own build).
"""

import pytest

from plasticore.contract.protocol_spec import Status
from plasticore.cosim.fuzz import CATEGORIES, run_campaign
from plasticore.cosim.host_transport import TEST_PARAMS, SimulatedTransport
from plasticore.cosim.stimulus import random_config
from plasticore.golden import preset


def campaign(cfg, cases, seed, params=TEST_PARAMS):
    with SimulatedTransport(cfg, params) as transport:
        report = run_campaign(transport, transport.map, cases, seed)
    assert report.mismatches == [], "\n".join(report.mismatches[:10])
    assert report.cases == cases
    assert report.words_checked == sum(r.depth for r in transport.map.regions.values())
    return report


def test_fuzz_small_2000_cases():
    report = campaign(preset("small"), 2000, seed=1)
    assert set(report.by_category) == set(CATEGORIES)
    assert {
        Status(s).name
        for s in (Status.CRC, Status.COMMAND, Status.LENGTH, Status.RANGE, Status.TIMEOUT, Status.READ_ONLY, Status.OK)
    } <= set(report.statuses)
    assert report.silent_cases > 0  # pure garbage gets no reply
    assert report.error_replies > report.cases // 2


@pytest.mark.slow
def test_fuzz_small_20000_cases():
    campaign(preset("small"), 20000, seed=2)


@pytest.mark.slow
def test_fuzz_reckon():
    campaign(preset("reckon"), 3000, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_fuzz_random_configs(seed):
    campaign(random_config(seed), 3000, seed=seed)
