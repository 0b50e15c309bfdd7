"""Amaranth components of the plasticore core (neuron core, learning unit, memories, controller,
host protocol, UART). Imports only ``golden.config`` and ``golden.numerics`` constants."""
