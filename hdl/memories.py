"""The core's memories, and the host bus served onto them while the core is idle.

Every block of state of the core that is a memory (weights, neuron state, readout, traces,
accumulators, the learning factor g) is one :class:`amaranth.lib.memory.Memory` here, with one
read and one write port, offered to the core as a :class:`RamPorts` member. While the core is
idle (``idle`` high) the host bus (``plasticore.hdl.bus.MemoryBus``) owns every port: it reads
and writes each host-visible memory at its region of the memory map
(``plasticore.contract.geometry``). While a tick runs the core owns them and routes them to the
engines of the current phase.

Layout (docs/architecture.md): ``w_pre`` holds Win and Wrec as one table of presynaptic rows,
split in ``weight_banks`` K banks by the row's low bits (row ``i`` in bank ``i mod K`` at row
``i div K``); B is split in P banks by error index modulo P (``b_fb``), so that a readout
update can write the P transposed copies of one Wout word in one cycle. The per-bank copies
(x-bar, z-bar(t-1) and g: one per weight bank's updater, every copy written alike) all answer
the bus at their one region.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from plasticore.contract.geometry import Geometry, ceil_div
from plasticore.golden.config import Config

from .bus import MemoryBus
from .passes import lanes_of, post_factor_layout

__all__ = ["RamPorts", "LaneRamPorts", "CoreMemories", "slot_layout", "drive_address", "drive_enable"]


def slot_layout(cfg: Config) -> data.StructLayout:
    """One slot of the sparse synapse table: the signed weight in the low bits, the column above
    (``Geometry.slot_value``'s packing)."""
    return data.StructLayout({"weight": signed(cfg.w_bits), "column": unsigned(cfg.column_bits)})


def drive_address(addr, value) -> list:
    """``addr`` (a port's address: one, or one per lane) gets ``value`` (every lane the same)."""
    if isinstance(addr, data.View):
        return [addr[lane].eq(value) for lane in range(len(addr))]
    return [addr.eq(value)]


def drive_enable(en, value) -> list:
    """``en`` (a write enable: one bit, or one per lane) gets ``value`` on every bit."""
    return [en.eq(value.replicate(len(en)) if len(en) > 1 else value)]


class LaneRamPorts(wiring.Signature):
    """A memory of one-lane memories side by side, one read and one write port each, from the
    memory's side: every lane has an address of its own (the sparse table's slots of one word
    reach P different columns).

    Parameters
    ----------
    depth : int
        Words of each lane's memory.
    layout : ArrayLayout
        A word: the lanes' shapes.

    Members
    -------
    read : Out(Signature)
        ``addr`` (one per lane) and ``en`` in, ``data`` (every lane's) out a cycle later.
    write : Out(Signature)
        ``addr`` (one per lane), ``data`` and ``en`` (one per lane) in.
    """

    def __init__(self, depth: int, layout: data.ArrayLayout):
        self.depth, self.shape = depth, layout
        addr = data.ArrayLayout(unsigned((max(depth, 1) - 1).bit_length()), layout.length)
        super().__init__(
            {
                "read": Out(wiring.Signature({"addr": In(addr), "en": In(1, init=1), "data": Out(layout)})),
                "write": Out(wiring.Signature({"addr": In(addr), "data": In(layout), "en": In(layout.length)})),
            }
        )


class RamPorts(wiring.Signature):
    """One read port and one write port of a memory, from the memory's side.

    Parameters
    ----------
    depth : int
        Number of words.
    shape : shape-like
        Shape of a word.
    granularity : int or None
        Write granularity in lanes (one enable per ``granularity`` elements of an array
        layout), or None for one enable per word.

    Members
    -------
    read : Out(ReadPort.Signature(...))
        ``addr`` and ``en`` in, ``data`` out a cycle later.
    write : Out(WritePort.Signature(...))
        ``addr``, ``data`` and ``en`` in.
    """

    def __init__(self, depth: int, shape, granularity: int | None = None):
        self.depth, self.shape, self.granularity = depth, shape, granularity
        addr_width = (max(depth, 1) - 1).bit_length()
        super().__init__(
            {
                "read": Out(ReadPort.Signature(addr_width=addr_width, shape=shape)),
                "write": Out(WritePort.Signature(addr_width=addr_width, shape=shape, granularity=granularity)),
            }
        )


class CoreMemories(wiring.Component):
    """The memories of a core and its host bus onto them.

    Parameters
    ----------
    cfg : Config
        The core's configuration.

    Members
    -------
    bus : In(MemoryBus(geometry))
        The host bus. Memory regions are answered here; the registers of the core (spike
        bitmaps and errors) are answered from ``register_rdata``.
    idle : In(1)
        The core is idle: the bus owns every port (otherwise the ports below do).
    register_rdata : In(bus_data_bits)
        The core's answer to a bus read of a register region, captured at the request.
    w_pre : Out(RamPorts).array(weight_banks)
        The presynaptic weight table (Win rows, then Wrec rows), one memory per weight bank.
    w_out : Out(RamPorts)
        The readout weights Wout.
    b_fb : Out(RamPorts).array(lanes)
        The feedback weights B, bank ``k mod P`` of error ``k``; write enables per lane.
    u, a, ref, v : Out(RamPorts)
        Neuron state: soma, adaptation, refractory counter, dendrite.
    y, target : Out(RamPorts)
        Readout state and targets.
    acc : Out(RamPorts).array(weight_banks)
        Synaptic accumulators, one per weight bank (read transparent for the write).
    fb_acc : Out(RamPorts).array(feedback_banks)
        Feedback accumulators, one per feedback engine (read transparent for the write).
    out_acc : Out(RamPorts)
        The readout accumulator (read transparent for the write).
    xbar : Out(RamPorts).array(weight_banks)
        Input traces x-bar, one copy per weight bank.
    zbar : Out(RamPorts)
        Recurrent traces z-bar(t).
    zbar_prev : Out(RamPorts).array(weight_banks)
        Recurrent traces z-bar(t-1), one copy per weight bank.
    zobar : Out(RamPorts)
        With ``cfg.tau_readout_trace`` only: the readout's own traces z~(t).
    g : Out(RamPorts).array(weight_banks)
        The learning factor g = V*h (or its factors), one copy per weight bank.
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.geometry = geom = Geometry(cfg)
        P, nw, nwo, nwi = geom.lanes, geom.words_rec, geom.words_out, geom.words_in
        K, KF = cfg.weight_banks, cfg.feedback_banks
        self.bank_rows = ceil_div(geom.n_pre, K)  # rows per weight bank
        trace = lanes_of(P, cfg.trace_bits, False)
        #: the sparse synapse table: w_pre holds slots, and acc and g are one memory per lane
        self.sparse = geom.sparse
        self.pre_layout = data.ArrayLayout(slot_layout(cfg), P) if geom.sparse else lanes_of(P, cfg.w_bits)
        # name: (depth, word layout, number of copies, read transparent for the write, per-bank copy)
        self.specs = {
            "w_pre": (self.bank_rows * geom.words_pre, self.pre_layout, K, False, False),
            "w_out": (geom.regions["w_out"].depth, lanes_of(P, cfg.weight_bits["w_out"]), None, False, False),
            "b_fb": (geom.fb_bank_depth, lanes_of(P, cfg.fb_w_bits), P, False, False),
            "u": (nw, lanes_of(P, cfg.u_bits), None, False, False),
            "a": (nw, lanes_of(P, cfg.a_bits, False), None, False, False),
            "ref": (nw, lanes_of(P, cfg.ref_bits, False), None, False, False),
            "v": (nw, lanes_of(P, cfg.v_bits), None, False, False),
            "y": (nwo, lanes_of(P, cfg.y_bits), None, False, False),
            "target": (nwo, lanes_of(P, cfg.y_bits), None, False, False),
            "acc": (nw, lanes_of(P, cfg.in_acc_bits), K, True, True),
            "fb_acc": (nw, lanes_of(P, cfg.fb_acc_bits), KF, True, True),
            "out_acc": (nwo, lanes_of(P, cfg.out_acc_bits), None, True, False),
            "xbar": (nwi, trace, K, False, False),
            "zbar": (nw, trace, None, False, False),
            "zbar_prev": (nw, trace, K, False, False),
            "g": (nw, post_factor_layout(cfg), K, False, True),
        }
        if cfg.readout_trace_q is not None:
            self.specs["zobar"] = (nw, trace, None, False, False)
        members = {
            "bus": In(MemoryBus(geom)),
            "idle": In(1),
            "register_rdata": In(geom.bus_data_bits),
        }
        for name, (depth, layout, copies, _, _) in self.specs.items():
            if name in self.lane_split:
                ports = Out(LaneRamPorts(depth, layout))
            else:
                ports = Out(RamPorts(depth, layout, granularity=self._granularity(name)))
            members[name] = ports if copies is None else ports.array(copies)
        super().__init__(members)

    @property
    def bus_memories(self) -> tuple[str, ...]:
        """The memories that are bus regions of their own name (one copy, or copies the bus
        writes alike), served by the host bus while idle."""
        shared = ("w_out", "u", "a", "ref", "v", "y", "target", "xbar", "zbar")
        return shared + (("zobar",) if "zobar" in self.specs else ())

    @property
    def lane_split(self) -> tuple[str, ...]:
        """The memories kept as one memory per lane (the sparse table's slots address them per lane)."""
        return ("acc", "g") if self.sparse else ()

    def _granularity(self, name: str) -> int | None:
        # B: a readout update writes one lane of P banks; w_pre (sparse): rewiring writes one slot
        return 1 if name == "b_fb" or (name == "w_pre" and self.sparse) else None

    def elaborate(self, platform):
        m = Module()
        cfg, geom = self.cfg, self.geometry
        K = cfg.weight_banks
        regions = geom.regions
        # the per-bank copies (accumulators, g) in block RAM if the config asks for it
        bank_attrs = {"ram_style": "block"} if cfg.bank_memories == "block" else None

        # the memories: named as the memory map's regions, a copy's index appended when the
        # config has more than one (the B banks always numbered)
        memory_ports = {}  # name: [(read port, write port) of each copy]
        for name, (depth, layout, copies, transparent, per_bank) in self.specs.items():
            memory_ports[name] = []
            for index in range(copies or 1):
                suffix = str(index) if name == "b_fb" or (copies or 1) > 1 else ""
                attrs = bank_attrs if per_bank else None
                if name in self.lane_split:
                    self._lane_memories(m, name + suffix, getattr(self, name)[index], depth, layout, attrs, transparent)
                    continue
                mem = Memory(shape=layout, depth=max(depth, 1), init=[], attrs=attrs)
                m.submodules[name + suffix] = mem
                wp = mem.write_port(granularity=self._granularity(name))
                rp = mem.read_port(transparent_for=(wp,) if transparent else ())
                memory_ports[name].append((rp, wp))

        # host bus decoding (served while idle) --------------------------------------------------
        region = Signal(geom.region_bits)
        word = Signal(geom.word_addr_bits)
        m.d.comb += Cat(word, region).eq(self.bus.addr)
        bus_write = self.bus.we & self.idle
        bus_read = self.bus.re & self.idle

        def serve(ports, rp, wp, bus_addr, bus_enable):
            """A memory's ports: the bus's (write enabled by ``bus_enable``) while idle, the
            core's otherwise (its write enables are low while idle)."""
            all_lanes = (1 << len(wp.en)) - 1
            m.d.comb += [
                rp.addr.eq(Mux(self.idle, bus_addr, ports.read.addr)),
                rp.en.eq(Mux(self.idle, 1, ports.read.en)),
                ports.read.data.eq(rp.data),
                wp.addr.eq(Mux(self.idle, bus_addr, ports.write.addr)),
                wp.data.eq(Mux(self.idle, self.bus.wdata[: len(wp.data.as_value())], ports.write.data.as_value())),
                wp.en.eq(Mux(bus_write & bus_enable, all_lanes, 0) | ports.write.en),
            ]

        def copies(name):
            ports = getattr(self, name)
            return zip(ports if isinstance(ports, list) else [ports], memory_ports[name], strict=True)

        for name in self.bus_memories:
            for ports, (rp, wp) in copies(name):
                serve(ports, rp, wp, word, region == regions[name].index)
        for name in ("acc", "fb_acc", "out_acc", "zbar_prev", "g"):  # the core's alone
            if name in self.lane_split:
                continue  # connected as they were made
            for ports, (rp, wp) in copies(name):
                m.d.comb += [
                    rp.addr.eq(ports.read.addr),
                    rp.en.eq(ports.read.en),
                    ports.read.data.eq(rp.data),
                    wp.addr.eq(ports.write.addr),
                    wp.data.eq(ports.write.data),
                    wp.en.eq(ports.write.en),
                ]

        # Win and Wrec are two bus regions of the one presynaptic table (split in K banks by the
        # row's low bits: K and the words per row are powers of two when K > 1, Config checks)
        pre_region_is_rec = region == regions["w_rec"].index
        pre_addr = Mux(pre_region_is_rec, word + cfg.n_in * geom.words_pre, word)
        word_bits, bank_bits = (geom.words_pre - 1).bit_length(), (K - 1).bit_length()
        bus_pre_bank = pre_addr[word_bits : word_bits + bank_bits] if K > 1 else 0
        bus_pre_addr = Cat(pre_addr[:word_bits], pre_addr[word_bits + bank_bits :]) if K > 1 else pre_addr
        for bank, (ports, (rp, wp)) in enumerate(copies("w_pre")):
            serve(
                ports,
                rp,
                wp,
                bus_pre_addr,
                ((region == regions["w_in"].index) | pre_region_is_rec) & (bus_pre_bank == bank),
            )
        read_pre_bank = Signal(range(max(K, 2)))
        m.d.sync += read_pre_bank.eq(bus_pre_bank)
        w_pre_data = Array(rp.data.as_value() for rp, _ in memory_ports["w_pre"])

        # B: bank in the high bits of the word address, address in the bank in the low bits
        stride_bits = (geom.fb_bank_stride - 1).bit_length()
        bus_bank = word[stride_bits:]
        for bank, (ports, (rp, wp)) in enumerate(copies("b_fb")):
            serve(ports, rp, wp, word[:stride_bits], (region == regions["b_fb"].index) & (bus_bank == bank))
        b_fb_data = Array(rp.data.as_value() for rp, _ in memory_ports["b_fb"])

        # bus reads: the memory answers a cycle after the request
        read_region = Signal.like(region)
        read_bank = Signal.like(bus_bank)
        m.d.sync += [self.bus.rvalid.eq(bus_read), read_region.eq(region), read_bank.eq(bus_bank)]
        with m.Switch(read_region):
            with m.Case(regions["w_in"].index, regions["w_rec"].index):
                m.d.comb += self.bus.rdata.eq(w_pre_data[read_pre_bank])
            for name in self.bus_memories:
                with m.Case(regions[name].index):
                    m.d.comb += self.bus.rdata.eq(memory_ports[name][0][0].data.as_value())
            with m.Case(regions["b_fb"].index):
                m.d.comb += self.bus.rdata.eq(b_fb_data[read_bank])
            with m.Default():
                m.d.comb += self.bus.rdata.eq(self.register_rdata)
        return m

    @staticmethod
    def _lane_memories(
        m: Module, name: str, ports, depth: int, layout: data.ArrayLayout, attrs, transparent: bool
    ) -> None:
        """One memory per lane of ``layout`` (read transparent for its write if ``transparent``:
        the accumulators' read-modify-write), connected to ``ports`` (a ``LaneRamPorts``)."""
        for lane in range(layout.length):
            mem = Memory(shape=layout.elem_shape, depth=max(depth, 1), init=[], attrs=attrs)
            m.submodules[f"{name}_lane{lane}"] = mem
            wp = mem.write_port()
            rp = mem.read_port(transparent_for=(wp,) if transparent else ())
            m.d.comb += [
                rp.addr.eq(ports.read.addr[lane]),
                rp.en.eq(ports.read.en),
                ports.read.data[lane].eq(rp.data),
                wp.addr.eq(ports.write.addr[lane]),
                wp.data.eq(ports.write.data[lane]),
                wp.en.eq(ports.write.en[lane]),
            ]
