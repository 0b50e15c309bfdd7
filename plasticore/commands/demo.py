"""``plasticore demo``: the main job (see plasticore.demo)."""

from .common import add_config_option


def register(sub) -> None:
    p = sub.add_parser("demo", help="the main job: build, run and compare a small network")
    add_config_option(p)
    p.add_argument("--ticks", type=int, default=500, help="ticks to run (default: 500)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..demo import demo
    return demo(args)
