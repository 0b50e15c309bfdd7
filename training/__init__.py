"""Training loops: tasks through the golden chip model (on-chip rules, quantization-aware BPTT) and shared helpers."""
