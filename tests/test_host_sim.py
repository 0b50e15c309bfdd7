"""The host driver on the simulated chip (cocotb + Verilator): runs equal golden bit for bit.

One simulator process serves the module (one cached build, see plasticore.cosim.host_transport's
TEST_PARAMS). An inference run over several windows must end with golden's state, per-tick
readout and spikes, and the cycle model's cycle counts; a training run (two samples, state
reset in between, learning on) must end with golden's weights and traces; the link recovers
from damaged requests and lost replies; a host of another config is refused.
"""

import numpy as np
import pytest

from plasticore.contract.cycles import tick_cycles
from plasticore.contract.protocol_spec import Reg, Status
from plasticore.cosim.host_transport import TEST_PARAMS
from plasticore.cosim.stimulus import make_stimulus, random_config
from plasticore.golden import FixedNumerics, init_state, preset, tick
from plasticore.golden.learning import LearnState, init_learning, init_traces, learn
from plasticore.golden.network import Weights
from plasticore.host import Host, IdentityError, ProtocolError

CFG = preset("small")
WEIGHTS = ("w_in", "w_rec", "w_out", "b_fb")


@pytest.fixture(scope="module")
def chip():
    with Host.simulated(CFG, TEST_PARAMS) as host:
        yield host


def with_rule(cfg, w):
    """Weights as the chip holds them: with symmetric feedback B is Wout^T (a synapse table kept)."""
    table = w.synapses
    w = Weights(*(np.asarray(getattr(w, k), dtype=np.int64) for k in WEIGHTS), table)
    return Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy(), table) if cfg.rule == "eprop_symmetric" else w


def golden_run(cfg, w, x, targets, valid, learning=False, ls=None):
    """Golden's fixed-point run from a reset state, as the chip runs it: per-tick y, z, the
    end state, weights and learning state."""
    fx = FixedNumerics()
    s = init_state(cfg, fx, 1)
    ls = init_learning(cfg, fx, 1) if ls is None else ls
    ys, zs = [], []
    for t in range(len(x)):
        prev = s
        s, out = tick(cfg, fx, w, s, x[t][None], targets[t][None], valid[t : t + 1])
        w, ls, _ = learn(cfg, fx, w, prev, s, out, x[t][None], np.array([learning and bool(valid[t])]), ls)
        w = with_rule(cfg, w)
        ys.append(s.y[0])
        zs.append(out.z[0])
    return np.array(ys), np.array(zs), s, w, ls


def check_inference(chip, cfg, seed, windows=3):
    """Inference over several windows from a reset state: outputs, state, traces, weights and
    every tick's cycle count as golden and the cycle model say."""
    ticks = windows * chip.window + 5
    st = make_stimulus(cfg, ticks, seed=seed, rate=0.15, weight_scale=1.0)
    w = with_rule(cfg, st.weights)
    chip.load_weights(w)
    chip.reset_state()
    out = chip.run_sequence(st.x, st.targets, st.valid)
    ys, zs, s, _, ls = golden_run(cfg, w, st.x, st.targets, st.valid)
    assert np.array_equal(out.y, ys) and np.array_equal(out.z, zs)
    state = chip.read_state()
    for name in ("u", "a", "ref", "v", "y", "e"):
        assert np.array_equal(state[name], getattr(s, name)[0]), name
    assert np.array_equal(state["z"], zs[-1])
    traces = chip.read_traces()
    assert np.array_equal(traces["x_bar"], ls.traces.x_bar[0]) and np.array_equal(traces["z_bar"], ls.traces.z_bar[0])
    got = chip.read_weights()
    for name in WEIGHTS:
        assert np.array_equal(getattr(got, name), getattr(w, name)), f"inference changed {name}"
    z_prev = np.vstack([np.zeros((1, cfg.n_rec), int), zs[:-1]])
    fx = FixedNumerics()
    e_prev, s_ = [np.zeros(cfg.n_out, int)], init_state(cfg, fx, 1)
    for t in range(ticks):
        s_, _ = tick(cfg, fx, w, s_, st.x[t][None], st.targets[t][None], st.valid[t : t + 1])
        e_prev.append(s_.e[0])
    predicted = [tick_cycles(cfg, st.x[t], z_prev[t], e_prev[t], zs[t]).total for t in range(ticks)]
    assert out.cycles.tolist() == predicted
    return out, zs


def check_training(chip, cfg, seed, ls=None):
    """The loop issue 8 runs: per sample, reset state and traces, run with learning; the
    LFSRs run on. Outputs, weights and traces must end as golden's. ``ls``: golden's
    learning state matching the chip's LFSRs (default: fresh, no learning tick yet)."""
    ticks = chip.window + 7
    st = make_stimulus(cfg, 2 * ticks, seed=seed, rate=0.2, weight_scale=1.0)
    w = with_rule(cfg, st.weights)
    chip.load_weights(w)
    fx = FixedNumerics()
    ls = init_learning(cfg, fx, 1) if ls is None else ls
    for sample in range(2):
        sl = slice(sample * ticks, (sample + 1) * ticks)
        chip.reset_state()
        out = chip.train(st.x[sl], st.targets[sl], st.valid[sl])
        ls = LearnState(init_traces(cfg, fx, 1), ls.lfsr)
        ys, zs, _, w, ls = golden_run(cfg, w, st.x[sl], st.targets[sl], st.valid[sl], learning=True, ls=ls)
        assert np.array_equal(out.y, ys) and np.array_equal(out.z, zs), f"sample {sample}"
    got = chip.read_weights()
    for name in WEIGHTS:
        assert np.array_equal(getattr(got, name), getattr(w, name)), name
    traces = chip.read_traces()
    assert np.array_equal(traces["x_bar"], ls.traces.x_bar[0]) and np.array_equal(traces["z_bar"], ls.traces.z_bar[0])
    return sum(int((getattr(w, k) != getattr(st.weights, k)).sum()) for k in ("w_in", "w_rec", "w_out"))


def test_identity_is_checked(chip):
    assert chip.read_register(Reg.IDENTITY) == chip.map.identity
    with pytest.raises(IdentityError, match="another config"):
        Host(CFG.replace(threshold=CFG.threshold + 1), chip.transport)


def test_inference_over_several_windows_equals_golden(chip):
    out, zs = check_inference(chip, CFG, seed=7)
    assert zs.sum() > 0
    ticks = len(zs)
    regs = chip.read_registers()
    assert regs[Reg.RUN_CORE_CYCLES] == out.cycles[-(ticks % chip.window or chip.window) :].sum()


def test_training_two_samples_equals_golden(chip):
    # the chip's LFSRs have drawn nothing yet: inference ticks do not draw
    changed = check_training(chip, CFG, seed=11)
    assert changed > 0, "no weight learned: the test would not notice a chip that ignores learn"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["random11", "random12", "random13", "reckon"])
def test_other_configs_equal_golden(name):
    cfg = preset("reckon") if name == "reckon" else random_config(int(name[len("random") :]))
    with Host.simulated(cfg, TEST_PARAMS) as chip:
        check_inference(chip, cfg, seed=5, windows=2)
        check_training(chip, cfg, seed=6)


class Flaky:
    """A transport that damages the n-th request and drops the m-th reply."""

    def __init__(self, inner, damage_write=None, drop_read=None):
        self.inner, self.damage_write, self.drop_read = inner, damage_write, drop_read
        self.writes = self.reads = 0

    def write(self, data):
        self.writes += 1
        if self.writes == self.damage_write:
            data = data[:-1] + bytes([data[-1] ^ 0x01])  # the CRC no longer matches
        self.inner.write(data)

    def read(self, n):
        data = self.inner.read(n)
        if n == 6:  # the driver reads a reply header
            self.reads += 1
            if self.reads == self.drop_read:
                self.inner.read_until_idle()
                return b""
        return data

    def gap(self):
        self.inner.gap()

    def close(self):
        pass


def test_link_recovers_from_a_damaged_request_and_a_lost_reply(chip):
    host = Host(CFG, Flaky(chip.transport, damage_write=2, drop_read=4))
    host.write_register(Reg.SCRATCH, 0x1234)  # write 2: damaged, CRC error, sent again
    assert host.read_register(Reg.SCRATCH) == 0x1234  # reply 4 lost: asked again
    assert host.link.stats["retries"] == 2
    st = make_stimulus(CFG, 4, seed=3)
    host.load_window(st.x, st.targets, st.valid)
    ticks = host.read_register(Reg.TICKS)
    flaky = Flaky(chip.transport, drop_read=2)  # the RUN's reply is lost
    host.link.transport = flaky
    host.run(4)
    assert host.read_register(Reg.TICKS) == ticks + 4, "a RUN whose reply was lost must not run twice"


def test_refused_requests_raise_with_the_reason(chip):
    with pytest.raises(ProtocolError, match="READ_ONLY") as err:
        chip.write_register(Reg.TICKS, 1)
    assert err.value.status == Status.READ_ONLY
    with pytest.raises(ValueError, match="outside"):
        chip.read_words("u", 0, 10_000)
    with pytest.raises(ValueError, match="window"):
        chip.run(chip.window + 1)
