"""Float algorithms as published (e-prop as in NEST, BPTT): the references the chip's hardware forms are measured against."""
