"""plasticore: command line, experiments and reports on top of golden, hdl, cosim and boards."""

__version__ = "0.1.0"
