"""cocotb benches and the simulator runner that compare the RTL with golden tick for tick."""
