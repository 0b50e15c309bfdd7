"""Host protocol blocks in Amaranth's simulator: CRC, codec, memory map, frame parsing, RUN.

The engine's replies are compared with the reference model ``plasticore.cosim.protocol_model`` frame
for frame; the Verilator fuzz campaigns (tests/test_protocol_fuzz.py) extend the same
comparison to thousands of random frames.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from plasticore.contract.frame_codec import (
    ReplyDecoder,
    encode_reply,
    encode_request,
    mem_args,
    reg_read_args,
    reg_write_args,
    run_args,
)
from plasticore.contract.protocol_spec import (
    CRC_CHECK,
    MAGIC,
    N_REGS,
    PROTOCOL_VERSION,
    SYNC_REQUEST,
    Command,
    Reg,
    Status,
    crc16,
)
from plasticore.contract.system_map import SystemMap
from plasticore.cosim.amaranth_bytes import exchange
from plasticore.cosim.protocol_model import ProtocolModel
from plasticore.cosim.stimulus import make_stimulus
from plasticore.golden import FixedNumerics, init_state, preset, tick
from plasticore.hdl.crc import CRC16
from plasticore.hdl.system import System

CFG = preset("small")


def small_system(**kw):
    kw.setdefault("window", 8)
    kw.setdefault("max_payload", 128)
    kw.setdefault("frame_timeout", 64)
    return System(CFG, **kw)


# -- CRC ------------------------------------------------------------------------------------------


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == CRC_CHECK == 0x29B1
    rng = np.random.default_rng(0)
    for n in (0, 1, 5, 300):
        body = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        # sent high byte first, the CRC leaves a zero residue: what the RTL checks
        assert crc16(body + crc16(body).to_bytes(2, "big")) == 0


def test_crc_rtl_matches_the_reference_byte_by_byte():
    dut = CRC16()
    data = np.random.default_rng(1).integers(0, 256, 200, dtype=np.uint8).tobytes() + b"123456789"
    seen = []

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for b in data:
            ctx.set(dut.data, b)
            ctx.set(dut.en, 1)
            await ctx.tick()
            seen.append(ctx.get(dut.crc))
        ctx.set(dut.en, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    expected, crc = [], 0xFFFF
    for i in range(len(data)):
        crc = crc16(data[i : i + 1], crc)
        expected.append(crc)
    assert seen == expected


# -- codec and map ---------------------------------------------------------------------------------


def test_codec_frames_and_decoder():
    req = encode_request(Command.READ_MEM, 7, mem_args(3, 0x1234, 5))
    assert req[0] == SYNC_REQUEST and req[1] == Command.READ_MEM and req[2] == 7
    assert int.from_bytes(req[3:5], "little") == 7 and crc16(req[1:]) == 0
    replies = [
        encode_reply(Command.NOP, 1, Status.OK),
        encode_reply(Command.READ_REG, 2, Status.OK, b"abcd"),
        encode_reply(Command.RUN, 3, Status.RANGE),
    ]
    stream = b"\x00\x13" + b"".join(replies)
    dec = ReplyDecoder()
    got = []
    for i in range(0, len(stream), 3):  # arrives in pieces
        got += dec.feed(stream[i : i + 3])
    assert [(r.cmd, r.tag, r.status, r.payload) for r in got] == [
        (Command.NOP, 1, 0, b""),
        (Command.READ_REG, 2, 0, b"abcd"),
        (Command.RUN, 3, Status.RANGE, b""),
    ]
    assert dec.discarded == 2 and all(r.crc_ok for r in got)
    bad = bytearray(replies[1])
    bad[-3] ^= 0x10
    (r,) = ReplyDecoder().feed(bytes(bad))
    assert not r.crc_ok and not r.ok


def test_system_map_identity_and_errors():
    m = SystemMap(CFG, 8, 128)
    assert [r.name for r in m.regions.values()][: m.n_core_regions] == list(m.geometry.regions)
    assert all(r.index == i for i, r in enumerate(m.regions.values()))
    assert m.regions["in_x"].depth == 8 * m.geometry.regions["x"].depth
    assert m.identity == SystemMap(CFG.replace(name="other"), 8, 128).identity  # the name is a label
    assert m.identity != SystemMap(CFG, 16, 128).identity
    assert m.identity != SystemMap(CFG.replace(threshold=1000), 8, 128).identity
    with pytest.raises(ValueError, match="window"):
        SystemMap(CFG, 0, 128)
    with pytest.raises(ValueError, match="max_payload"):
        SystemMap(CFG, 8, 16)
    r = m.regions["u"]
    assert r.bytes_to_words(r.words_to_bytes([1, 2**63])) == [1, 2**63]
    with pytest.raises(ValueError, match="does not fit"):
        r.words_to_bytes([1 << r.word_bits])


# -- the engine --------------------------------------------------------------------------------------


def run_against_model(dut, bursts):
    """Exchange ``bursts`` with the RTL and with the model; returns (rtl replies, expected)."""
    outputs = exchange(dut, bursts)
    model = ProtocolModel(dut.map, {Reg.SCRATCH: 0, Reg.FRAME_TIMEOUT: dut.frame_timeout, Reg.WATCHDOG: dut.watchdog})
    got, expected = [], []
    for burst, out in zip(bursts, outputs, strict=True):
        got.append(ReplyDecoder().feed(out))
        expected.append(model.feed(burst) + model.end_of_burst())
    return got, expected


def test_every_reply_status_matches_the_model_and_bad_frames_commit_nothing():
    dut = small_system()
    m = dut.map
    w_in, u, in_t = m.regions["w_in"], m.regions["u"], m.regions["in_target"]
    words = [0x11223344, 0x55667788, 0x01020304]
    good_write = encode_request(Command.WRITE_MEM, 5, mem_args(w_in.index, 10, 3) + w_in.words_to_bytes(words))
    bad_crc = bytearray(
        encode_request(Command.WRITE_MEM, 6, mem_args(w_in.index, 10, 3) + w_in.words_to_bytes([9, 9, 9]))
    )
    bad_crc[9] ^= 0x04
    too_long = bytearray(encode_request(Command.NOP, 8, b""))
    too_long[3:5] = (m.max_payload + 1).to_bytes(2, "little")
    bursts = [
        encode_request(Command.NOP, 1),
        encode_request(Command.READ_REG, 2, reg_read_args(0, 6)),  # constants
        encode_request(Command.WRITE_REG, 3, reg_write_args(Reg.SCRATCH, 0xCAFEF00D)),
        encode_request(Command.READ_REG, 4, reg_read_args(Reg.SCRATCH, 3)),
        good_write,
        bytes(bad_crc),  # CRC
        encode_request(Command.READ_MEM, 7, mem_args(w_in.index, 9, 5)),  # unchanged words
        bytes(too_long) + b"\x00" * 20,  # LENGTH at once
        encode_request(Command.READ_MEM, 9, mem_args(w_in.index, 0, 1) + b"\x00"),  # LENGTH
        encode_request(0x42, 10, b"xyz"),  # COMMAND
        encode_request(Command.READ_MEM, 11, mem_args(w_in.index, w_in.depth - 2, 3)),  # RANGE
        encode_request(Command.READ_MEM, 12, mem_args(len(m.regions), 0, 1)),  # RANGE
        encode_request(Command.WRITE_REG, 13, reg_write_args(Reg.TICKS, 5)),  # READ_ONLY
        encode_request(Command.WRITE_REG, 14, reg_write_args(Reg.FRAME_TIMEOUT, 3)),  # RANGE
        encode_request(Command.RUN, 15, run_args(m.window - 1, 2)),  # RANGE
        encode_request(Command.RUN, 16, run_args(0, 1, 0x80)),  # RANGE
        encode_request(Command.WRITE_MEM, 17, mem_args(u.index, 0, 2) + u.words_to_bytes([1])),  # LENGTH
        encode_request(Command.WRITE_MEM, 18, mem_args(u.index, 0, 1) + u.words_to_bytes([3]))[:-4],  # TIMEOUT
        bytes([0x00, 0xFF, 0x13, 0x37]),  # garbage: silence
        bytes([0x01, 0x02]) + encode_request(Command.READ_MEM, 19, mem_args(u.index, 0, 1)),  # garbage, frame
        encode_request(Command.WRITE_MEM, 20, mem_args(in_t.index, 3, 2) + in_t.words_to_bytes([5, 1 << 63])),
        encode_request(Command.CLEAR_MEM, 21, mem_args(w_in.index, 11, 1)),
        encode_request(Command.READ_MEM, 22, mem_args(w_in.index, 10, 3)),
        encode_request(Command.READ_MEM, 23, mem_args(in_t.index, 2, 3)),
    ]
    got, expected = run_against_model(dut, bursts)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert len(g) == len(e), f"burst {i}: {[r.describe() for r in g]} != {[str(x) for x in e]}"
        for r, x in zip(g, e, strict=True):
            assert x.matches(r), f"burst {i}: {r.describe()} {r.payload.hex()} != {x}"
    statuses = {r.status for rs in got for r in rs}
    assert statuses == set(Status) - {Status.WATCHDOG, Status.BUSY}
    assert got[1][0].payload[:8] == MAGIC.to_bytes(4, "little") + PROTOCOL_VERSION.to_bytes(4, "little")
    assert int.from_bytes(got[1][0].payload[8:12], "little") == m.identity
    assert got[6][0].payload == w_in.words_to_bytes([0, *words, 0])  # the bad-CRC write changed nothing
    assert got[18] == []  # garbage gets no reply
    assert got[22][0].payload == w_in.words_to_bytes([words[0], 0, words[2]])


def test_run_over_the_protocol_matches_golden():
    dut = small_system()
    m, g = dut.map, dut.map.geometry
    ticks = 6
    st = make_stimulus(CFG, ticks, seed=4, rate=0.3, weight_scale=1.0)
    bursts = []
    for name, values in (
        ("w_in", g.weights_to_rows(st.weights.w_in)),
        ("w_rec", g.weights_to_rows(st.weights.w_rec)),
        ("w_out", g.weights_to_rows(st.weights.w_out)),
        ("b_fb", g.feedback_to_words(st.weights.feedback(CFG))),
    ):
        r = m.regions[name]
        words = g.regions[name].pack(values)
        step = m.max_words(r, write=True)
        for lo in range(0, len(words), step):
            chunk = words[lo : lo + step]
            bursts.append(
                encode_request(Command.WRITE_MEM, 1, mem_args(r.index, lo, len(chunk)) + r.words_to_bytes(chunk))
            )
    x_words = [
        w for t in range(ticks) for w in g.regions["x"].pack(np.concatenate([st.x[t], np.zeros(32 - CFG.n_in, int)]))
    ]
    t_words = [w for t in range(ticks) for w in g.regions["target"].pack(st.targets[t])]
    for name, words in (("in_x", x_words), ("in_target", t_words), ("in_valid", [int(v) for v in st.valid])):
        r = m.regions[name]
        bursts.append(encode_request(Command.WRITE_MEM, 2, mem_args(r.index, 0, len(words)) + r.words_to_bytes(words)))
    bursts.append(encode_request(Command.RUN, 3, run_args(0, ticks, 0)))  # inference
    for name in ("out_y", "out_z", "out_cycles"):
        bursts.append(encode_request(Command.READ_MEM, 4, mem_args(m.regions[name].index, 0, ticks)))
    bursts.append(encode_request(Command.READ_REG, 5, reg_read_args(Reg.TICKS, 5)))
    replies = [ReplyDecoder().feed(out) for out in exchange(dut, bursts)]
    assert all(len(r) == 1 and r[0].ok for r in replies), [[x.describe() for x in r] for r in replies]
    y = g.regions["y"].unpack(m.regions["out_y"].bytes_to_words(replies[-4][0].payload)).reshape(ticks, -1)
    z = g.regions["z"].unpack(m.regions["out_z"].bytes_to_words(replies[-3][0].payload)).reshape(ticks, -1)
    cycles = m.regions["out_cycles"].bytes_to_words(replies[-2][0].payload)
    regs = [int.from_bytes(replies[-1][0].payload[i : i + 4], "little") for i in range(0, 20, 4)]

    fx = FixedNumerics()
    s = init_state(CFG, fx, 1)
    for t in range(ticks):
        s, out = tick(CFG, fx, st.weights, s, st.x[t][None], st.targets[t][None], st.valid[t : t + 1])
        assert np.array_equal(y[t, : CFG.n_out], s.y[0]), f"tick {t}: Y"
        assert np.array_equal(z[t, : CFG.n_rec], out.z[0]), f"tick {t}: z"
    assert z[:, : CFG.n_rec].sum() > 0
    ticks_reg, last_cycles, run_ticks, run_core_cycles, run_cycles = regs
    assert ticks_reg == run_ticks == ticks and last_cycles == cycles[-1]
    assert run_core_cycles == sum(cycles) < run_cycles


def test_watchdog_stops_a_run_and_a_busy_core_is_refused():
    """A tick longer than WATCHDOG: the run stops with WATCHDOG, the engine answers at once,
    and refuses RUN and core regions (BUSY) until the core has finished its tick."""
    dut = small_system()
    m = dut.map
    in_x, u = m.regions["in_x"], m.regions["u"]
    bursts = [
        encode_request(Command.WRITE_MEM, 1, mem_args(in_x.index, 0, 1) + in_x.words_to_bytes([0xFFFF])),
        encode_request(Command.WRITE_REG, 2, reg_write_args(Reg.WATCHDOG, 16)),  # every input spikes:
        encode_request(Command.RUN, 3, run_args(0, 1)),  # > 100 cycles
        encode_request(Command.READ_MEM, 4, mem_args(u.index, 0, 1)),
        encode_request(Command.RUN, 5, run_args(0, 1)),
        encode_request(Command.READ_MEM, 6, mem_args(in_x.index, 0, 1)),  # buffers still served
        encode_request(Command.READ_REG, 7, reg_read_args(Reg.STATUS, 1)),
        b"".join(encode_request(Command.NOP, 8) for _ in range(20)),  # time passes
        encode_request(Command.READ_REG, 9, reg_read_args(Reg.STATUS, 1)),
        encode_request(Command.READ_MEM, 10, mem_args(u.index, 0, 1)),
    ]
    replies = [ReplyDecoder().feed(out) for out in exchange(dut, bursts)]
    statuses = [r[0].status for r in replies]
    assert statuses[:7] == [Status.OK, Status.OK, Status.WATCHDOG, Status.BUSY, Status.BUSY, Status.OK, Status.OK]
    assert replies[6][0].payload[0] == 0b11  # STATUS: stopped by the watchdog, core busy
    assert [r.status for r in replies[7]] == [Status.OK] * 20
    assert replies[8][0].payload[0] == 0b01 and statuses[9] == Status.OK


def test_register_file_names_every_register():
    assert N_REGS == len(Reg) and sorted(int(r) for r in Reg) == list(range(N_REGS))
