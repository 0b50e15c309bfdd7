"""The host driver under line faults: a retry or a clear error, never wrong data taken for right.

The device is ``plasticore.cosim.model_device.ModelDevice`` (the protocol reference model
answering in-process, no simulator), behind ``plasticore.cosim.faulty_transport.FaultyTransport``,
which drops, duplicates, corrupts or delays bytes of requests and replies. For every fault
kind and direction, and for all of them at once, the driver loads weights, reads them back and
runs ticks many times over; after each call the test checks against the device itself:

* ``load_weights`` returned: the device holds exactly these weights;
* ``read_weights`` returned: they are exactly the device's;
* ``run(n)`` returned: the device's tick counter advanced by exactly n (a RUN whose reply was
  lost is neither run twice nor taken for run when it was not);
* anything else is a :class:`~plasticore.host.LinkError` that names the request.
"""

import numpy as np
import pytest

from plasticore.contract.protocol_spec import Command, Reg
from plasticore.cosim.faulty_transport import FAULT_KINDS, FaultyTransport, LineFaults
from plasticore.cosim.model_device import ModelDevice
from plasticore.cosim.stimulus import make_stimulus
from plasticore.golden import preset
from plasticore.golden.network import Weights
from plasticore.host import WEIGHT_REGIONS, Host, LinkError

CFG = preset("small")
#: per-byte fault rate: a weight load (about 2 kB in 5 frames) meets a fault or two, so that
#: most requests need a retry now and then and some run out of them
RATE = 1e-3
ROUNDS = 12


def random_weights(rng) -> Weights:
    return make_stimulus(CFG, 1, seed=int(rng.integers(1 << 30)), weight_scale=1.0).weights


def device_weights(dev: ModelDevice) -> Weights:
    """What the device holds, read over a perfect line."""
    return Host(CFG, dev).read_weights()


def stored_words(w: Weights) -> dict[str, list[int]]:
    """The words a device holds after loading ``w`` over a perfect line."""
    ref = ModelDevice(CFG)
    Host(CFG, ref).load_weights(w)
    return {name: ref.words(name) for name in WEIGHT_REGIONS}


def exercise(to_device: LineFaults, to_host: LineFaults, seed: int) -> dict[str, int]:
    """Loads, reads and runs under faults; asserts every completed call did exactly its job.
    Returns how the calls ended and which faults were injected."""
    rng = np.random.default_rng(seed)
    dev = ModelDevice(CFG)
    line = FaultyTransport(dev, to_device, to_host, seed=seed)
    outcome = {"ok": 0, "link_errors": 0}
    try:
        host = Host(CFG, line, retries=2)
    except LinkError as exc:
        assert "READ_REG" in str(exc)
        outcome["link_errors"] += 1
        return outcome | dict(line.counts)

    def attempt(call, check):
        try:
            result = call()
        except LinkError as exc:
            assert str(exc).split(":")[0] in ("READ_REG", "READ_MEM", "WRITE_MEM", "CLEAR_MEM", "RUN"), exc
            outcome["link_errors"] += 1
            return
        check(result)
        outcome["ok"] += 1

    for _ in range(ROUNDS):
        w = random_weights(rng)

        def loaded(_, w=w):
            assert {name: dev.words(name) for name in WEIGHT_REGIONS} == stored_words(w), "wrong weights accepted"

        def read_back(got):
            held = device_weights(dev)
            for name in WEIGHT_REGIONS:
                assert np.array_equal(getattr(got, name), getattr(held, name)), f"wrong {name} read"

        attempt(lambda w=w: host.load_weights(w), loaded)
        attempt(host.read_weights, read_back)
        ticks = int(rng.integers(1, host.window + 1))
        before = dev.model.regs[Reg.TICKS]

        def ran(_, before=before, ticks=ticks):
            assert dev.model.regs[Reg.TICKS] == before + ticks, "a RUN ran twice, or not at all"

        attempt(lambda ticks=ticks: host.run(ticks, learn=True), ran)
    return outcome | dict(line.counts) | {"retries": host.link.stats["retries"]}


def test_faulty_transport_injects_what_it_is_told():
    data = bytes(range(256)) * 40
    for kind in FAULT_KINDS:
        line = FaultyTransport(ModelDevice(CFG), to_host=LineFaults.only(kind, 0.01), seed=1)
        line._in.damage(data)
        assert line.counts[f"reply {kind}"] > 0 and set(line.counts) == {f"reply {kind}"}
    with pytest.raises(ValueError, match="drop: probability 1.5"):
        LineFaults(drop=1.5)
    with pytest.raises(ValueError, match="kind: 'lose'"):
        LineFaults.only("lose", 0.1)


@pytest.mark.parametrize("direction", ["request", "reply"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_one_kind_of_fault_is_retried_or_reported(kind, direction):
    faults = LineFaults.only(kind, RATE)
    to_device, to_host = (faults, LineFaults()) if direction == "request" else (LineFaults(), faults)
    outcome = exercise(to_device, to_host, seed=FAULT_KINDS.index(kind))
    assert outcome.get(f"{direction} {kind}", 0) >= 3, outcome  # the faults did happen
    assert outcome.get("retries", 0) > 0, outcome  # and were retried
    assert outcome["ok"] >= 2 * ROUNDS, outcome  # most calls still get through


@pytest.mark.parametrize("seed", range(4))
def test_every_fault_at_once(seed):
    faults = LineFaults(drop=RATE / 4, duplicate=RATE / 4, corrupt=RATE / 4, delay=RATE / 4)
    outcome = exercise(faults, faults, seed=100 + seed)
    assert sum(v for k, v in outcome.items() if k.startswith(("request ", "reply "))) >= 5, outcome
    assert outcome["ok"] >= 2 * ROUNDS, outcome


def test_a_dead_line_is_a_clear_error():
    line = FaultyTransport(ModelDevice(CFG), to_host=LineFaults(drop=1.0))
    with pytest.raises(LinkError, match=r"READ_REG: no reply after 3 attempts"):
        Host(CFG, line)


class Scripted:
    """A line that loses chosen frames: ``script`` is a list of (command, "request" or
    "reply"), each consumed by the next request of that command, whose request or reply is lost."""

    def __init__(self, inner, script):
        self.inner, self.script = inner, list(script)

    def write(self, data):
        for i, (cmd, what) in enumerate(self.script):
            if data[1] == cmd:
                del self.script[i]
                if what == "request":
                    return
                self.inner.write(data)
                self.inner.gap()  # the reply is lost on the way
                return
        self.inner.write(data)

    def read(self, n):
        return self.inner.read(n)

    def gap(self):
        self.inner.gap()

    def close(self):
        pass


def test_a_run_the_link_gave_up_on_does_not_confuse_the_next():
    """A RUN that ran but whose reply, and the tick count asked after it, were lost ends in a
    LinkError; the next RUN, whose request is lost, must be sent again, not taken for run
    because the counter moved by the first one's ticks."""
    dev = ModelDevice(CFG)
    line = Scripted(dev, [])
    host = Host(CFG, line, retries=2)
    host.run(4)  # a first run: from here the driver counts the device's ticks itself
    line.script = [(Command.RUN, "reply")] + [(Command.READ_REG, "reply")] * 3
    with pytest.raises(LinkError, match="READ_REG"):
        host.run(4)
    assert dev.model.regs[Reg.TICKS] == 8  # it did run
    line.script = [(Command.RUN, "request")]
    host.run(4)
    assert dev.model.regs[Reg.TICKS] == 12, "a RUN that never reached the device was taken for run"
