"""The host protocol in simulation: link throughput, run speed, engine overhead, fuzz rate.

    python -m plasticore.bench.host_link [--config small] [--ticks 640] [--frames 200] [--fuzz 1000]

Everything goes through the simulated transport (``plasticore.cosim.host_transport``: the System's RTL
under cocotb on Verilator, bytes fed by the bench one per cycle). Wall-clock figures depend
on the machine and its load; the cycle figures do not:

* write / read: WRITE_MEM and READ_MEM frames of the largest size (``max_payload``);
* run: ``Host.run_sequence`` of inference ticks (load window, RUN, read Y, z, cycles);
  engine overhead per tick is RUN_CYCLES - RUN_CORE_CYCLES of a RUN, divided by its ticks;
* fuzz: cases of ``plasticore.cosim.fuzz.run_campaign`` per second.
"""

from __future__ import annotations

import argparse
import time

from plasticore.contract.frame_codec import encode_request, mem_args
from plasticore.contract.protocol_spec import Command, Reg
from plasticore.cosim.fuzz import run_campaign
from plasticore.cosim.host_transport import TEST_PARAMS
from plasticore.cosim.stimulus import config_by_name, make_stimulus
from plasticore.host import Host


def link_rate(transport, cmd: Command, frames: int) -> tuple[float, float, float]:
    """(payload bytes/s wall, payload bytes per simulated cycle, frames/s) of max-size frames."""
    m = transport.map
    r = m.regions["w_rec"]
    if cmd == Command.WRITE_MEM:
        n = m.max_words(r, write=True)
        frame = encode_request(cmd, 1, mem_args(r.index, 0, n) + r.words_to_bytes([0] * n))
    else:
        n = m.max_words(r, write=False)
        frame = encode_request(cmd, 1, mem_args(r.index, 0, n))
    payload = n * r.bytes_per_word
    c0, t0 = transport.cycles, time.perf_counter()
    for _ in range(frames):
        transport.write(frame)
        transport.read_until_idle()
    dt, dc = time.perf_counter() - t0, transport.cycles - c0
    return frames * payload / dt, frames * payload / dc, frames / dt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="small")
    p.add_argument("--ticks", type=int, default=640)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--fuzz", type=int, default=1000)
    args = p.parse_args(argv)
    cfg = config_by_name(args.config)
    start = time.perf_counter()
    with Host.simulated(cfg, TEST_PARAMS) as chip:
        ready = time.perf_counter() - start
        tr = chip.transport
        w_bps, w_bpc, w_fps = link_rate(tr, Command.WRITE_MEM, args.frames)
        r_bps, r_bpc, r_fps = link_rate(tr, Command.READ_MEM, args.frames)
        st = make_stimulus(cfg, args.ticks, seed=1, rate=0.05, weight_scale=1.0)
        chip.load_weights(st.weights)
        chip.reset_state()
        c0, t0 = tr.cycles, time.perf_counter()
        out = chip.run_sequence(st.x, st.targets, st.valid)
        run_s, run_c = time.perf_counter() - t0, tr.cycles - c0
        regs = chip.read_registers()
        overhead = (regs[Reg.RUN_CYCLES] - regs[Reg.RUN_CORE_CYCLES]) / regs[Reg.RUN_TICKS]
        f0 = time.perf_counter()
        report = run_campaign(tr, tr.map, args.fuzz, seed=1)
        fuzz_s = time.perf_counter() - f0
    print(
        f"config {cfg.name}, window {TEST_PARAMS.window} ticks, max_payload {TEST_PARAMS.max_payload} bytes; "
        f"build + start {ready:.1f} s\n"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| WRITE_MEM payload | {w_bps / 1e3:.1f} kB/s, {w_fps:.0f} frames/s, {w_bpc:.2f} bytes/cycle |")
    print(f"| READ_MEM payload | {r_bps / 1e3:.1f} kB/s, {r_fps:.0f} frames/s, {r_bpc:.2f} bytes/cycle |")
    print(
        f"| run_sequence ({args.ticks} ticks, inference) | {args.ticks / run_s:.0f} ticks/s, "
        f"{run_c / args.ticks:.0f} simulated cycles/tick incl. link, core {out.cycles.mean():.1f} |"
    )
    print(f"| engine overhead per tick (copy in/out) | {overhead:.1f} cycles |")
    print(f"| fuzz | {args.fuzz / fuzz_s:.0f} cases/s, {len(report.mismatches)} mismatches |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
