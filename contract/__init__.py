"""The host-RTL contract in plain Python: memory geometry, system map, protocol constants, frame codec, cycle model."""
