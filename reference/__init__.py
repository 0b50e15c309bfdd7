"""Float algorithms as published (e-prop as in NEST, BPTT, their optimizers): what the chip is measured against.

deep_r: DEEP R rewiring as the official LSNN code applies it.
huh_sejnowski: Huh & Sejnowski (2018) gated-synapse spiking network and its exact BPTT gradient.
"""
