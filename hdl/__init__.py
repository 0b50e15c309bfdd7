"""Amaranth components of the plasticore core (neuron core, learning unit, memories, controller,
host protocol, UART). Imports only ``plasticore.golden.config`` and ``plasticore.golden.numerics`` constants."""
