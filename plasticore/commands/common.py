"""Options shared by several subcommands."""

import argparse


def add_config_option(p: argparse.ArgumentParser, default: str = "small") -> None:
    p.add_argument(
        "--config",
        default=default,
        help=f"a preset (small, reckon) or a JSON file of config fields (default: {default})",
    )
