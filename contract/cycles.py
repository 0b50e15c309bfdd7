"""The exact cycle count of one tick of ``plasticore.hdl.core.Core``, from the tick's activity.

Co-simulation checks this model against the RTL's own counter on every tick, so the
performance figures derived from it (docs/performance.md, ticks per second per board) are
the RTL's, not an estimate.

Phases (see hdl/core.py):

* ACCUMULATE: the integration pairs (scanner over [x(t), z(t-1)], rows of ``words_rec`` words;
  with ``weight_banks`` K, one pair per bank over the rows ``b, b+K, ...``),
  the feedback pairs (scanner over e(t-1) != 0, rows of ``words_rec`` words; one pair per
  ``feedback_banks`` over the errors ``c, c+KF, ...``) and the input-trace
  pass (``words_in`` words) run in parallel; the phase lasts until all are done, plus the
  cycle that sees it.
* NEURON: ``words_rec + 2`` (one word per cycle, a read stage and a write stage, one cycle
  to see the pass finished); one more with ``Config.pipelined`` (two compute stages).
* READOUT: scanner over z(t), rows of ``words_out`` words.
* OUTPUT: ``words_out + 2``, or ``+ 3`` pipelined.
* LEARN_W, LEARN_OUT (learning ticks only): scanner over the rows with a nonzero presynaptic
  factor, rows of ``words_rec`` (resp. ``words_out``) words; the row updater of
  ``plasticore.hdl.update`` has the row accumulator's timing. With ``weight_banks`` K > 1, LEARN_W runs K
  such scanner-updater pairs side by side, bank ``b`` over rows ``b, b+K, ...``, and the
  readout's pair with them (its own LFSR lanes); the phase lasts as long as the slowest pair
  and there is no LEARN_OUT phase. A pipelined updater (``Config.pipelined``) needs one more
  cycle after its last row. The hidden pairs start when NEURON ends (their factors g, x-bar and
  z-bar are final, and READOUT and OUTPUT use none of their memories), so READOUT's and
  OUTPUT's cycles count against theirs: LEARN_W lasts until they are done, and the readout's
  pair, which needs e(t), starts when OUTPUT ends.
* FINISH: 1.

The sparse synapse table (``Geometry.sparse``; hdl/slot_accumulate.py, hdl/slot_update.py):
Win/Wrec rows are ``slot_words`` words, and the integration and update engines have one stage
more (the accumulator or g address is a slot's column, known a cycle after the word). With
``rewire`` an updater finishes each row before taking the next: after the row's last word is
written, one cycle to decide, then one cycle per rewiring candidate (``rewire_draws``, from
golden's visit: ``SynapseTable.update(..., visits=...)``), so a row occupies the updater
``words + stages + 1 + candidates`` cycles, and the updater is idle the cycle after its last.

Scanner and engine timing (``plasticore.hdl.scanner``, ``plasticore.hdl.accumulate``): the scanner spends one
cycle on a chunk with nothing (left) to offer and offers a pending index every cycle
otherwise; the engine accepts a row when idle or on the cycle it issues its current row's
last word, then issues one word per cycle; after the last row it needs two more cycles
(the write stage, and the cycle that sees it idle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticore.golden.config import Config

from .geometry import Geometry

__all__ = [
    "Breakdown",
    "scan_and_accumulate_cycles",
    "tick_cycles",
    "default_watchdog",
    "slowest_tick",
    "tick_counter_bits",
    "SCAN_CHUNK",
]

#: bits a spike scanner examines per cycle (plasticore.hdl.scanner.SpikeScanner's default)
SCAN_CHUNK = 32
#: rewiring candidates per pruned slot that :func:`slowest_tick` allows, in units of
#: ``2**column_bits`` (the expected count when a single column of the lane is free)
REWIRE_DRAWS_PER_SLOT = 1


def scan_and_accumulate_cycles(
    bits: np.ndarray,
    words_per_row: int,
    chunk: int = SCAN_CHUNK,
    stages: int = 1,
    drained: list[int] | None = None,
) -> int:
    """Cycles until a scanner over ``bits`` and its row engine are both idle; ``stages``: the
    engine's compute stages after its read stage (2 for a pipelined row updater).

    ``drained``: the engine finishes each row before the next (a rewiring slot updater), the
    i-th row taking ``drained[i]`` cycles of rewiring candidates after its words and stages."""
    n = len(bits)
    chunk = min(chunk, n)
    n_chunks = -(-n // chunk)
    set_bits = np.flatnonzero(bits)
    t = 0  # cycle at which the scanner looks at the current chunk
    ready = 0  # first cycle at which the engine accepts a row
    last_accept = None
    start = 0
    for c in range(n_chunks):
        end = int(np.searchsorted(set_bits, (c + 1) * chunk))
        for i in range(start, end):  # the chunk's indices, lowest first
            accept = max(t, ready)
            ready = accept + words_per_row
            if drained is not None:
                ready += stages + 1 + drained[i]
            t = accept + 1
            last_accept = accept
        start = end
        t += 1  # the cycle that finds the chunk exhausted
    if last_accept is None:
        engine_idle = 0
    elif drained is not None:
        engine_idle = ready + 1
    else:
        engine_idle = last_accept + words_per_row + stages + 1
    return max(t, engine_idle)


def _bank_cycles(
    rows: np.ndarray,
    bank: int,
    banks: int,
    words_per_row: int,
    stages: int = 1,
    rewire_draws: dict[int, int] | None = None,
) -> int:
    """Cycles of the scanner-engine pair of one weight bank: rows ``bank, bank+K, ...`` (a bank
    with no rows at all still has a one-bit scanner, as in hdl/core.py); ``rewire_draws``: a
    rewiring updater's candidates per table row (rows not in it drew none)."""
    own = rows[bank::banks] if bank < len(rows) else np.zeros(1)
    drained = None
    if rewire_draws is not None:
        visited = np.flatnonzero(own) * banks + bank
        drained = [rewire_draws.get(int(i), 0) for i in visited]
    return scan_and_accumulate_cycles(own, words_per_row, stages=stages, drained=drained)


@dataclass(frozen=True)
class Breakdown:
    """The cycles of one tick, phase by phase.

    Attributes
    ----------
    accumulate : int
        Scanning the input and recurrent spikes and accumulating their weight rows.
    neuron : int
        Updating the neurons.
    readout : int
        Updating the readout.
    output : int
        Producing the outputs.
    learn_w : int
        Learning the input and recurrent weights.
    learn_out : int
        Learning the output weights.
    finish : int
        The last cycle.
    """

    accumulate: int
    neuron: int
    readout: int
    output: int
    learn_w: int = 0
    learn_out: int = 0
    finish: int = 1

    @property
    def infer(self) -> int:
        """The cycles of the inference phases (the tick without its learning phases)."""
        return self.accumulate + self.neuron + self.readout + self.output + self.finish

    @property
    def learn(self) -> int:
        return self.learn_w + self.learn_out

    @property
    def total(self) -> int:
        return self.infer + self.learn


def tick_cycles(
    cfg: Config,
    x: np.ndarray,
    z_prev: np.ndarray,
    e_prev: np.ndarray,
    z_new: np.ndarray,
    learn_rows: np.ndarray | None = None,
    learn_out_rows: np.ndarray | None = None,
    rewire_draws: dict[int, int] | None = None,
) -> Breakdown:
    """Cycles of one tick with inputs ``x``, last spikes ``z_prev``, last errors ``e_prev``
    and this tick's spikes ``z_new`` (all 1-D, one batch element).

    On a learning tick (learning on and target valid), ``learn_rows`` flags the presynaptic
    rows (inputs, then recurrent) whose factor e-bar is nonzero and ``learn_out_rows`` the
    neurons whose trace z-bar(t) is nonzero (the readout phase runs if ``cfg.learn_readout``).
    The learning enables (``cfg.learn_input``, ``cfg.learn_recurrent``: run-time registers,
    ``plasticore.golden.registers``) remove a disabled matrix's rows, as the core does.
    ``rewire_draws`` (``rewire`` only): the rewiring candidates of each visited table row that
    pruned a slot (golden's ``SynapseTable.update`` reports them); none if omitted.
    """
    g = Geometry(cfg)
    if learn_rows is not None:
        learn_rows = np.array(learn_rows, dtype=bool)
        learn_rows[: cfg.n_in] &= cfg.learn_input
        learn_rows[cfg.n_in :] &= cfg.learn_recurrent
    K = cfg.weight_banks
    stages = cfg.compute_stages  # of the passes and the row updaters
    spiking = np.concatenate([x, z_prev])
    # the synapse table's engines have a stage more (an address is a slot's column)
    table_stages = 1 if g.sparse else 0
    integrate = max(_bank_cycles(spiking, bank, K, g.words_pre, 1 + table_stages) for bank in range(K))
    errors = np.asarray(e_prev) != 0
    feedback = max(_bank_cycles(errors, c, cfg.feedback_banks, g.words_rec) for c in range(cfg.feedback_banks))
    input_traces = g.words_in + 1  # the x-bar pass: a word per cycle, a write stage
    readout_phase = scan_and_accumulate_cycles(z_new, g.words_out) + 1
    output_phase = g.words_out + 1 + stages
    learn_w = learn_out = 0
    if learn_rows is not None:
        if cfg.learn_readout and learn_out_rows is None:
            raise ValueError("learn_out_rows: needed with learn_rows when the readout learns")
        draws = (rewire_draws or {}) if cfg.rewire else None
        pairs = [
            _bank_cycles(np.asarray(learn_rows), bank, K, g.words_pre, stages + table_stages, draws)
            for bank in range(K)
        ]
        readout_pair = (
            scan_and_accumulate_cycles(learn_out_rows, g.words_out, stages=stages)
            if cfg.learn_readout and learn_out_rows is not None
            else 0
        )
        # the hidden pairs start with READOUT and have had its cycles and OUTPUT's
        head_start = readout_phase + output_phase
        hidden = max(max(pairs) - head_start, 0)
        if K == 1:
            learn_w = hidden + 1
            learn_out = readout_pair + 1 if cfg.learn_readout else 0
        else:
            learn_w = max(hidden, readout_pair) + 1
    return Breakdown(
        accumulate=max(integrate, feedback, input_traces) + 1,
        neuron=g.words_rec + 1 + stages,
        readout=readout_phase,
        output=output_phase,
        learn_w=learn_w,
        learn_out=learn_out,
    )


def slowest_tick(cfg: Config) -> int:
    """Cycles of the slowest tick the cycle model knows: every input, neuron and error active,
    learning every row (the bound the phase controller's formal property asserts), whatever
    the run-time learning enables are."""
    cfg = cfg.replace(learn_input=True, learn_recurrent=True, learn_readout=True)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.int64)

    # rewiring: every slot of every row pruned, each taking REWIRE_DRAWS_PER_SLOT candidates
    # (a candidate is accepted with probability >= 1 / 2**column_bits: a bound in expectation,
    # the watchdog's 4x margin covers the rest)
    slots = Geometry(cfg).words_pre * cfg.lanes
    draws = {i: slots * REWIRE_DRAWS_PER_SLOT << cfg.column_bits for i in range(cfg.n_in + cfg.n_rec)}

    return tick_cycles(
        cfg,
        ones(cfg.n_in),
        ones(cfg.n_rec),
        ones(cfg.n_out),
        ones(cfg.n_rec),
        learn_rows=ones(cfg.n_in + cfg.n_rec),
        learn_out_rows=ones(cfg.n_rec),
        rewire_draws=draws if cfg.rewire else None,
    ).total


def default_watchdog(cfg: Config) -> int:
    """Reset value of register WATCHDOG: 4x the slowest tick the cycle model knows
    (:func:`slowest_tick`) plus a margin: a safety net against a core that never finishes,
    far from any real tick."""
    return 4 * slowest_tick(cfg) + 4096


def tick_counter_bits(cfg: Config) -> int:
    """Width of the core's tick cycle counter (register TICK_CYCLES, buffer ``out_cycles``):
    enough for any tick up to the default watchdog, 4x the slowest tick there is. Only a core
    that never finishes could count further (and would wrap); the registers stay 32 bits."""
    return min(32, default_watchdog(cfg).bit_length())
