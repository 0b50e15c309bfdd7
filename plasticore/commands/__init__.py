"""One module per ``plasticore`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``(args) -> exit code``. ``COMMANDS`` lists them in the order ``--help`` shows them.
"""

from importlib import import_module

COMMANDS = ["run", "demo", "train", "compare", "cosim", "synth", "nir", "flash", "rl", "l2l", "serve_sim"]


def register_all(subparsers) -> None:
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(subparsers)
