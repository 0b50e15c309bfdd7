"""Small RTL blocks in Amaranth's simulator, each against its golden counterpart."""

import numpy as np
import pytest
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from plasticore.golden import lfsr as golden_lfsr
from plasticore.golden.numerics import decay, rshift_round, sat
from plasticore.hdl.arith import decay as hw_decay
from plasticore.hdl.arith import rshift_round as hw_rshift
from plasticore.hdl.arith import saturate as hw_saturate
from plasticore.hdl.lfsr import GaloisLFSR
from plasticore.hdl.scanner import SpikeScanner


class ArithHarness(wiring.Component):
    """The three primitives side by side on one input."""

    def __init__(self, in_bits, out_bits, shift, q, decay_bits):
        self.params = (out_bits, shift, q, decay_bits)
        super().__init__(
            {
                "x": In(signed(in_bits)),
                "sat_s": Out(signed(out_bits)),
                "sat_u": Out(unsigned(out_bits)),
                "shifted": Out(signed(in_bits + 1)),
                "decayed": Out(signed(in_bits + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        out_bits, shift, q, d = self.params
        m.d.comb += [
            self.sat_s.eq(hw_saturate(self.x, out_bits)),
            self.sat_u.eq(hw_saturate(self.x, out_bits, is_signed=False)),
            self.shifted.eq(hw_rshift(self.x, shift)),
            self.decayed.eq(hw_decay(self.x, q, d)),
        ]
        return m


@pytest.mark.parametrize(
    "in_bits, out_bits, shift, q, decay_bits",
    [
        (20, 8, 3, 244, 8),
        (24, 16, 0, 1, 4),
        (12, 12, 11, 4095, 12),
        (33, 9, 7, 200, 8),
    ],
)
def test_arith_matches_golden(in_bits, out_bits, shift, q, decay_bits):
    dut = ArithHarness(in_bits, out_bits, shift, q, decay_bits)
    rng = np.random.default_rng(in_bits)
    lo, hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    values = np.concatenate([[lo, hi, 0, -1, 1, lo + 1, hi - 1], rng.integers(lo, hi + 1, 300)])
    errors = []

    async def bench(ctx):
        for v in values:
            v = int(v)
            ctx.set(dut.x, v)
            x = np.int64(v)
            expected = {
                "sat_s": int(sat(x, out_bits)),
                "sat_u": int(sat(x, out_bits, signed=False)),
                "shifted": int(rshift_round(x, shift)),
                "decayed": int(decay(x, q, decay_bits)),
            }
            for name, want in expected.items():
                got = ctx.get(getattr(dut, name))
                if got != want:
                    errors.append((v, name, got, want))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert not errors, errors[:5]


@pytest.mark.parametrize("seed", [1, 0xACE12468, 0xFFFFFFFF])
def test_lfsr_matches_golden_draws(seed):
    dut = GaloisLFSR(seed)
    n = 200
    got = []

    async def bench(ctx):
        ctx.set(dut.step, 1)
        for k in range(n):
            await ctx.tick()
            got.append(ctx.get(dut.state))
            ctx.set(dut.step, k % 3 != 0)  # pauses must not step
            if k % 3 == 0:
                await ctx.tick()
                assert ctx.get(dut.state) == got[-1]
                ctx.set(dut.step, 1)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    expected, _ = golden_lfsr.draws(np.uint32(seed), n)
    assert got == [int(v) for v in expected]


def test_lfsr_refuses_zero_seed():
    with pytest.raises(ValueError, match="lfsr seed: 0"):
        GaloisLFSR(0)


@pytest.mark.parametrize("n, density, seed", [(1, 1.0, 0), (40, 0.1, 1), (100, 0.5, 2), (64, 0.0, 3), (70, 1.0, 4)])
def test_scanner_streams_every_set_bit_in_order_under_backpressure(n, density, seed):
    rng = np.random.default_rng(seed)
    bits = (rng.random(n) < density).astype(int)
    dut = SpikeScanner(n)
    got = []

    async def bench(ctx):
        ctx.set(dut.bits, int("".join(map(str, bits[::-1])), 2))
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(10 * n + 50):
            ready = bool(rng.random() < 0.6)
            ctx.set(dut.indices.ready, ready)
            if ctx.get(dut.indices.valid) and ready:
                got.append(ctx.get(dut.indices.payload))
            if not ctx.get(dut.busy):
                break
            await ctx.tick()
        assert not ctx.get(dut.busy), "scanner never finished"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == np.flatnonzero(bits).tolist()


class LaneHarness(wiring.Component):
    """One lane function of hdl/lanes.py behind ports: ``inputs`` (name: shape) drive
    ``function(cfg, **inputs)``, whose value is ``out``."""

    def __init__(self, cfg, function, inputs, out_shape):
        self.cfg, self.function, self.inputs = cfg, function, inputs
        super().__init__({**{name: In(shape) for name, shape in inputs.items()}, "out": Out(out_shape)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.out.eq(self.function(self.cfg, **{name: getattr(self, name) for name in self.inputs}))
        return m

    def outputs(self, cases):
        """``out`` for each case, a tuple of input values in the order of ``inputs``."""
        got = []

        async def bench(ctx):
            for case in cases:
                for name, value in zip(self.inputs, case, strict=True):
                    ctx.set(getattr(self, name), value)
                got.append(ctx.get(self.out))

        sim = Simulator(self)
        sim.add_testbench(bench)
        sim.run()
        return got


@pytest.mark.parametrize(
    "kind, window, h_bits",
    [
        ("boxcar", 300, 4),
        ("piecewise_linear", 512, 4),
        ("piecewise_linear", 64, 6),
        ("boxcar", 1, 1),
        ("step", 300, 4),
        ("step", 819, 1),  # cue-reckon's window: 2/3 of its threshold, not a power of two
        ("step", 1, 3),
    ],
)
def test_pseudo_derivative_matches_golden(kind, window, h_bits):
    from plasticore.golden import Config, FixedNumerics
    from plasticore.golden.learning import pseudo_derivative
    from plasticore.hdl.lanes import pseudo_derivative as lane

    cfg = Config(pseudo_derivative=kind, pd_window=window, h_bits=h_bits, threshold=1000)
    ports = {"u": signed(cfg.u_bits), "threshold": unsigned(cfg.u_bits + 1), "ready": 1}
    dut = LaneHarness(cfg, lane, ports, unsigned(cfg.h_bits))
    rng = np.random.default_rng(window)
    thresholds = rng.integers(cfg.threshold, cfg.threshold + (1 << cfg.a_bits), 200)
    cases = [
        (int(t + d), int(t), bool(r))
        for t, d, r in zip(
            thresholds, rng.integers(-2 * window - 3, 2 * window + 4, 200), rng.random(200) < 0.8, strict=True
        )
    ]
    cases += [(1000 + d, 1000, True) for d in (-window, -window + 1, 0, window - 1, window)]
    # far above the threshold (where "step" differs from the windows) and the rails of U
    cases += [(1000 + d, 1000, True) for d in (4 * window, 1 << 20, -(1 << 20))]
    lo, hi = -(1 << (cfg.u_bits - 1)), (1 << (cfg.u_bits - 1)) - 1
    cases = [(min(max(u, lo), hi), t, r) for u, t, r in cases]
    got = dut.outputs(cases)
    u, t, r = (np.array(c) for c in zip(*cases, strict=True))
    expected = pseudo_derivative(cfg, FixedNumerics(), u, t, r)
    assert got == expected.tolist()
    assert max(got) > 0 and min(got) == 0


@pytest.mark.parametrize(
    "error_clamp, y_bits, e_bits",
    [(None, 16, 16), (700, 16, 16), (1, 16, 16), (32767, 16, 12), (2000, 16, 8), (100, 10, 4), (511, 10, 16)],
)
def test_readout_error_matches_golden_tick(error_clamp, y_bits, e_bits):
    """Step 6's error, ``error_clamp`` on and off, against golden's tick: a batch of readouts
    at random Y (on both sides of the clamp and at Y's rails) and random targets, no spikes, so
    that golden's new Y is the decayed old one; the lane gets that Y and must give golden's e."""
    from plasticore.golden import Config, FixedNumerics, Weights
    from plasticore.golden.network import init_state, tick
    from plasticore.hdl.lanes import readout_error

    cfg = Config(n_in=1, n_rec=1, n_out=1, y_bits=y_bits, e_bits=e_bits, w_bits=8, out_shift=0, error_clamp=error_clamp)
    fx, n = FixedNumerics(), 400
    rng = np.random.default_rng(n + y_bits + e_bits)
    lo, hi = -(1 << (y_bits - 1)), (1 << (y_bits - 1)) - 1
    clamp = hi if error_clamp is None else error_clamp
    near = rng.integers(-clamp - 3, clamp + 4, n // 2)  # around the clamp's edges
    y_old = np.concatenate([near, rng.integers(lo, hi + 1, n // 2 - 4), [lo, hi, lo + 1, hi - 1]])
    y_old = np.clip(y_old, lo, hi).astype(np.int64)[:, None]
    target = rng.integers(lo, hi + 1, (n, 1))
    target[: n // 4] = rng.integers(-clamp, clamp + 1, (n // 4, 1))  # targets inside the clamp, as cue-reckon's
    valid = rng.random(n) < 0.8
    s = init_state(cfg, fx, n)
    s = type(s)(**{**s.__dict__, "y": y_old})
    zeros = Weights(*(np.zeros((1, 1), dtype=np.int64) for _ in range(4)))  # no drive: Y only decays
    new, out = tick(cfg, fx, zeros, s, np.zeros((n, 1), dtype=np.int64), target=target, valid=valid)
    ports = {"y_new": signed(y_bits), "target": signed(y_bits), "counts": 1}
    dut = LaneHarness(cfg, readout_error, ports, signed(e_bits))
    got = dut.outputs(zip(new.y[:, 0].tolist(), target[:, 0].tolist(), valid.tolist(), strict=True))
    assert got == out.e[:, 0].tolist()
    # the cases reach every branch: Y inside the clamp, above and below it (a clamp below Y's
    # rail), and invalid ticks
    y_new = new.y[:, 0]
    assert ((np.abs(y_new) < clamp) & valid).sum() > 10 and (~valid).sum() > 10
    if clamp < hi:
        assert ((y_new > clamp) & valid).sum() > 10 and ((y_new < -clamp) & valid).sum() > 10


@pytest.mark.parametrize(
    "rate_target, rate_reg_shift, trace_bits, v_bits",
    [
        (None, 0, 16, 16),
        (100, 0, 16, 16),
        (0, 0, 16, 8),  # any nonzero trace pushes; saturates V's narrow width
        (10240, 6, 16, 16),  # cue-reckon's, at 16-bit traces
        (3000, 3, 12, 12),
        (255, 32, 8, 16),  # a shift past the trace's width: the term rounds to 0
        (65535, 1, 16, 16),  # the trace's rail: never above it
    ],
)
def test_regularized_signal_matches_golden(rate_target, rate_reg_shift, trace_bits, v_bits):
    """The learning signal V' that g = V'*h is formed with, against golden's
    ``regularized_signal`` over random V and z_bar (around the target and at both rails)."""
    from plasticore.golden import Config, FixedNumerics
    from plasticore.golden.learning import regularized_signal
    from plasticore.hdl.lanes import regularized_signal as lane

    cfg = Config(trace_bits=trace_bits, v_bits=v_bits, rate_target=rate_target, rate_reg_shift=rate_reg_shift)
    n = 400
    rng = np.random.default_rng(n + trace_bits + v_bits + rate_reg_shift)
    v_lo, v_hi = -(1 << (v_bits - 1)), (1 << (v_bits - 1)) - 1
    z_hi = (1 << trace_bits) - 1
    target = 0 if rate_target is None else rate_target
    v = np.concatenate([rng.integers(v_lo, v_hi + 1, n - 4), [v_lo, v_hi, v_hi - 1, 0]])
    z_bar = rng.integers(0, z_hi + 1, n)
    z_bar[: n // 4] = np.clip(rng.integers(target - 40, target + 41, n // 4), 0, z_hi)  # the target's edge
    z_bar[-4:] = [0, z_hi, z_hi, target]
    ports = {"v": signed(v_bits), "z_bar": unsigned(trace_bits)}
    dut = LaneHarness(cfg, lane, ports, signed(v_bits))
    got = dut.outputs(zip(v.tolist(), z_bar.tolist(), strict=True))
    expected = regularized_signal(cfg, FixedNumerics(), v[:, None], z_bar[:, None])[:, 0]
    assert got == expected.tolist()
    # the cases reach the branches: the term acts (V' != V) unless it is off or rounds to 0, and
    # with a narrow V it saturates at the rail
    acts = (np.array(got) != v).sum()
    if rate_target is None or rate_reg_shift >= trace_bits + 1 or target == z_hi:
        assert acts == 0
    else:
        assert acts > 20 and (z_bar <= target).sum() > 20
    if v_bits == 8:
        assert ((np.array(got) == v_hi) & (v < v_hi)).sum() > 0


@pytest.mark.parametrize("x_bits, y_bits", [(20, 12), (5, 1), (9, 7)])
def test_multiply_by_bits_is_the_product_without_a_multiplier(x_bits, y_bits):
    """The updaters' logic multiplier: exactly x * y for signed x and unsigned y, built from
    adders only (no ``*`` for synthesis to map onto a hard multiplier)."""
    from amaranth.back import rtlil

    from plasticore.hdl.arith import multiply_by_bits

    class Harness(wiring.Component):
        x: In(signed(x_bits))
        y: In(unsigned(y_bits))
        p: Out(signed(x_bits + y_bits + 1))

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.p.eq(multiply_by_bits(self.x, self.y))
            return m

    dut = Harness()
    assert "$mul" not in rtlil.convert(dut)
    rng = np.random.default_rng(x_bits * 100 + y_bits)
    xs = rng.integers(-(1 << (x_bits - 1)), 1 << (x_bits - 1), 300).tolist() + [
        -(1 << (x_bits - 1)),
        (1 << (x_bits - 1)) - 1,
    ]
    ys = rng.integers(0, 1 << y_bits, 300).tolist() + [0, (1 << y_bits) - 1]
    dut = Harness()
    sim = Simulator(dut)
    got = []

    async def bench(ctx):
        for x, y in zip(xs, ys, strict=True):
            ctx.set(dut.x, x)
            ctx.set(dut.y, y)
            got.append(ctx.get(dut.p))

    sim.add_testbench(bench)
    sim.run()
    assert got == [x * y for x, y in zip(xs, ys, strict=True)]


def test_csd_digits_reconstruct_every_12_bit_factor_without_adjacent_digits():
    from plasticore.hdl.arith import csd_digits

    for q in range(0, 1 << 12):
        digits = csd_digits(q)
        assert sum(sign << shift for shift, sign in digits) == q
        shifts = [s for s, _ in digits]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:], strict=False))


@pytest.mark.parametrize("x_bits, is_signed", [(16, True), (12, False)])
def test_const_mul_in_logic_is_the_product_without_a_multiplier(x_bits, is_signed):
    """The decays' constant products with ``decay_multipliers`` "logic": exactly x * q, for the
    extreme x and constants with long runs of ones (where signed digits subtract), no ``*``."""
    from amaranth.back import rtlil
    from amaranth.lib import data

    from plasticore.hdl.arith import const_mul

    factors = [0, 1, 2, 3, 7, 0b1011_1011_0111, 4095, 4000, 3891]

    class Harness(wiring.Component):
        x: In(signed(x_bits) if is_signed else unsigned(x_bits))
        p: Out(data.ArrayLayout(signed(x_bits + 14), len(factors)))

        def elaborate(self, platform):
            m = Module()
            for i, q in enumerate(factors):
                m.d.comb += self.p[i].eq(const_mul(self.x, q))
            return m

    assert "$mul" not in rtlil.convert(Harness())
    lo, hi = (-(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1) if is_signed else (0, (1 << x_bits) - 1)
    xs = [lo, hi, 0, 1, -1 if is_signed else 2] + np.random.default_rng(x_bits).integers(lo, hi + 1, 200).tolist()
    dut = Harness()
    sim = Simulator(dut)
    got = []

    async def bench(ctx):
        for x in xs:
            ctx.set(dut.x, x)
            got.append([ctx.get(dut.p[i]) for i in range(len(factors))])

    sim.add_testbench(bench)
    sim.run()
    assert got == [[x * q for q in factors] for x in xs]


def _mul_operand_widths(component) -> list[tuple[int, int]]:
    """(A_WIDTH, B_WIDTH) of every ``$mul`` cell in the RTLIL of ``component``."""
    import re

    from amaranth.back import rtlil

    text = rtlil.convert(component)
    cells = re.findall(r"cell \$mul [^\n]*\n(.*?)\n\s*end", text, flags=re.S)
    return [(int(re.search(r"A_WIDTH (\d+)", c).group(1)), int(re.search(r"B_WIDTH (\d+)", c).group(1))) for c in cells]


def test_factored_update_products_fit_an_18_bit_multiplier_port():
    """``learn_multipliers`` "factored": the updater multiplies V (16 bits) by h * e_bar, and
    every hard-multiplier operand fits an 18x18 port (ECP5 MULT18X18D), where g * e_bar puts
    the 20-bit g on one (the values are the same: tests/test_core.py checks them)."""
    from plasticore.hdl.update import RowUpdater

    shape = dict(n_rows=8, words_per_row=2, lanes=2, weight_bits=8, pre_bits=12, shift=20)
    plain = _mul_operand_widths(RowUpdater(post_bits=20, **shape))
    factored = _mul_operand_widths(RowUpdater(post_bits=16, gate_bits=4, multipliers="factored", **shape))
    assert plain and len(factored) == len(plain)
    assert max(max(w) for w in plain) == 20
    assert max(max(w) for w in factored) <= 18


@pytest.mark.parametrize("multipliers, gate_bits", [("factored", 0), ("dsp", 4), ("fast", 0)])
def test_row_updater_refuses_a_gate_that_does_not_match_its_products(multipliers, gate_bits):
    from plasticore.hdl.update import RowUpdater

    with pytest.raises(ValueError, match="multipliers"):
        RowUpdater(
            n_rows=8,
            words_per_row=2,
            lanes=2,
            weight_bits=8,
            post_bits=16,
            pre_bits=12,
            shift=20,
            multipliers=multipliers,
            gate_bits=gate_bits,
        )


def _memory_attributes(cfg) -> dict[str, dict[str, str]]:
    """Attributes of every memory of the core of ``cfg`` in its RTLIL, by memory name."""
    import re

    from amaranth.back import rtlil

    from plasticore.hdl.core import Core

    text = rtlil.convert(Core(cfg))
    found = {}
    for attrs, name in re.findall(r"((?:\s*attribute [^\n]*\n)*)\s*memory [^\n]*\\(\S+)\n", text):
        found[name] = dict(re.findall(r'attribute \\(\S+) "([^"]*)"', attrs))
    return found


def test_bank_memories_block_marks_the_per_bank_copies_for_block_ram_and_nothing_else():
    """``bank_memories`` "block" puts yosys's ``ram_style`` on the accumulators and g copies
    (K of each, KF feedback accumulators), and on no other memory; "auto" on none."""
    from plasticore.golden.config import preset

    cfg = preset("small").replace(weight_banks=2, fb_banks=1, learn_multipliers="factored")
    marked = {
        name
        for name, attrs in _memory_attributes(cfg.replace(bank_memories="block")).items()
        if attrs.get("ram_style") == "block"
    }
    assert marked == {"acc0", "acc1", "fb_acc", "g0", "g1"}
    auto = _memory_attributes(cfg)
    assert {"acc0", "fb_acc", "g0", "w_pre0", "xbar0"} <= set(auto)
    assert not any("ram_style" in attrs for attrs in auto.values())
