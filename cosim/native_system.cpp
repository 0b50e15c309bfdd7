// The System's Verilator model as a simulated board, free-running in C++ (no cocotb, no VPI).
//
// The same bench as cosim/tb_system.py, operation for operation and cycle for cycle, without
// Python in the simulation loop: plasticore.cosim.native_bench builds this file with the
// System's Verilog (top module prefix Vtop) and talks to it over the connected socket whose
// file descriptor is argv[1], in the message format of plasticore/cosim/byte_link.py:
//
//   request  op u8, n u32, cycles u64, data length u32, data     (little-endian, packed)
//   answer   cycle limit hit u8, engine idle u8, cycle count u64, data length u32, data
//
// Operations: WRITE (present the bytes on rx one per cycle as the engine takes them), READ
// (run until n bytes came out of tx, the engine is idle, or a cycle limit), ADVANCE (run a
// number of cycles with nothing on rx), STOP. The signal discipline is tb_system.py's: the
// clock starts low, inputs change and outputs are read at falling edges (rx.ready and
// tx.valid are registered, so a value read there holds through the next rising edge), and
// "cycle" counts falling edges since time 0.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

#include "Vtop.h"
#include "verilated.h"

// Verilator escapes the "__" of Amaranth's port names (rx__valid: rx.valid) as "___05F"

namespace {

enum Op : uint8_t { OP_WRITE = 1, OP_READ = 2, OP_ADVANCE = 3, OP_STOP = 4 };
constexpr size_t REQUEST_BYTES = 1 + 4 + 8 + 4;
constexpr size_t ANSWER_BYTES = 1 + 1 + 8 + 4;

bool recv_exact(int fd, void* buf, size_t n) {
    auto* p = static_cast<uint8_t*>(buf);
    while (n) {
        ssize_t got = read(fd, p, n);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<size_t>(got);
    }
    return true;
}

bool send_all(int fd, const void* buf, size_t n) {
    auto* p = static_cast<const uint8_t*>(buf);
    while (n) {
        ssize_t put = write(fd, p, n);
        if (put <= 0) return false;
        p += put;
        n -= static_cast<size_t>(put);
    }
    return true;
}

template <typename T>
T little(const uint8_t* p) {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
    return v;
}

template <typename T>
void put_little(uint8_t* p, T v) {
    for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

class Bench {
  public:
    explicit Bench(VerilatedContext* ctx) : top_(new Vtop{ctx}) {
        top_->clk = 0;
        top_->rst = 1;
        top_->rx___05Fvalid = 0;
        top_->rx___05Fpayload = 0;
        top_->tx___05Fready = 1;
        top_->eval();
        // tb_system.py: reset over two falling edges, released, then one more
        edge();
        edge();
        top_->rst = 0;
        edge();
        out.clear();
    }
    ~Bench() {
        top_->final();
        delete top_;
    }

    std::string out;  // the bytes tx sent during the current operation
    uint64_t cycle = 0;

    bool idle() const { return top_->idle; }

    // One clock period to the next falling edge; record the byte tx offers there (taken at
    // the coming rising edge, tx.ready being 1). Returns whether there was one.
    bool edge() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
        top_->eval();
        ++cycle;
        if (top_->tx___05Fvalid) {
            out.push_back(static_cast<char>(top_->tx___05Fpayload));
            return true;
        }
        return false;
    }

    void write(const uint8_t* data, size_t n) {
        top_->rx___05Fvalid = 1;
        for (size_t i = 0; i < n;) {
            top_->rx___05Fpayload = data[i];
            if (top_->rx___05Fready) ++i;  // taken at the coming rising edge
            edge();
        }
        top_->rx___05Fvalid = 0;
    }

    // Run until `want` bytes are out (want < 0: no limit), the engine is idle (if asked) or
    // `cycles` passed. Returns true when the cycle limit ended the run.
    bool run(int64_t want, uint64_t cycles, bool stop_when_idle) {
        const uint64_t end = cycle + cycles;
        bool streaming = top_->tx___05Fvalid;  // the byte at this edge is already recorded
        for (;;) {
            if (want >= 0 && static_cast<int64_t>(out.size()) >= want) return false;
            if (streaming) {
                streaming = edge();
                continue;
            }
            if (stop_when_idle && idle()) return false;
            if (cycle >= end) return true;
            // nothing to record: run until tx offers a byte, the engine falls idle, or the
            // limit (tb_system.py's First(RisingEdge(tx.valid), RisingEdge(idle), Timer))
            do {
                streaming = edge();
            } while (!streaming && !(stop_when_idle && idle()) && cycle < end);
        }
    }

  private:
    Vtop* top_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SOCKET_FD [verilator +args]\n", argv[0]);
        return 2;
    }
    const int fd = std::atoi(argv[1]);
    auto* ctx = new VerilatedContext;
    ctx->commandArgs(argc - 1, argv + 1);
    int status = 0;
    {
        Bench bench(ctx);
        uint8_t head[REQUEST_BYTES];
        std::string data;
        for (;;) {
            if (!recv_exact(fd, head, sizeof head)) break;  // the host closed the connection
            const uint8_t op = head[0];
            const uint32_t n = little<uint32_t>(head + 1);
            const uint64_t cycles = little<uint64_t>(head + 5);
            const uint32_t size = little<uint32_t>(head + 13);
            data.resize(size);
            if (size && !recv_exact(fd, data.data(), size)) break;
            bool limit = false;
            bench.out.clear();
            if (op == OP_WRITE) {
                bench.write(reinterpret_cast<const uint8_t*>(data.data()), size);
            } else if (op == OP_READ) {
                limit = bench.run(n, cycles, true);
            } else if (op == OP_ADVANCE) {
                bench.run(-1, cycles, false);
            } else if (op != OP_STOP) {
                std::fprintf(stderr, "unknown bench operation %u\n", op);
                status = 1;
                break;
            }
            uint8_t answer[ANSWER_BYTES];
            answer[0] = limit;
            answer[1] = bench.idle();
            put_little<uint64_t>(answer + 2, bench.cycle);
            put_little<uint32_t>(answer + 10, op == OP_STOP ? 0 : static_cast<uint32_t>(bench.out.size()));
            if (!send_all(fd, answer, sizeof answer)) break;
            if (op == OP_STOP) break;
            if (!bench.out.empty() && !send_all(fd, bench.out.data(), bench.out.size())) break;
        }
    }
    delete ctx;
    return status;
}
