"""Options shared by several subcommands."""

import argparse


def add_config_option(p: argparse.ArgumentParser, default: str = "small") -> None:
    p.add_argument(
        "--config",
        default=default,
        help=f"a preset (small, reckon) or a JSON file of config fields (default: {default})",
    )


def add_wiring_options(p: argparse.ArgumentParser) -> None:
    """``--connectivity F`` and ``--rewire``: Win/Wrec in the sparse synapse table
    (golden/synapses.py), with DEEP R; both None when not given (the config's own)."""
    p.add_argument(
        "--connectivity",
        type=float,
        default=None,
        metavar="F",
        help="fraction of input and recurrent synapses kept in the sparse synapse table (default: the config's, 1.0)",
    )
    p.add_argument(
        "--rewire", action="store_true", default=None, help="DEEP R: re-target synapses whose weight crosses zero"
    )


def wiring_fields(args: argparse.Namespace) -> dict[str, object]:
    """The config fields that ``--connectivity`` and ``--rewire`` set (none when not given)."""
    fields: dict[str, object] = {}
    if args.connectivity is not None:
        fields["connectivity"] = args.connectivity  # Config checks the range
    if args.rewire:
        fields["rewire"] = True
    return fields
