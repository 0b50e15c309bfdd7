"""``plasticore demo``: the main job (see plasticore.demo)."""

from pathlib import Path


def register(sub) -> None:
    from plasticore.boards.platforms import BOARDS
    from plasticore.demo import DEFAULT_BOARD

    p = sub.add_parser(
        "demo", help="the main job: train digits on the simulated chip, compare with golden, synthesize for a board"
    )
    p.add_argument("--seed", type=int, default=1, help="task data, initial weights, sample order (default: 1)")
    p.add_argument(
        "--board",
        default=DEFAULT_BOARD,
        choices=sorted(BOARDS),
        help=f"board to synthesize for (default: {DEFAULT_BOARD}, which holds the demo's network)",
    )
    p.add_argument(
        "--synth-config",
        default=None,
        help="config to synthesize (default: ice40 on the iCEBreaker, the demo's network elsewhere)",
    )
    p.add_argument("--train-samples", type=int, default=None, help="training samples (default: all 1,438)")
    p.add_argument("--test-samples", type=int, default=None, help="held-out samples (default: all 359)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the training samples (default: 2)")
    p.add_argument("--no-synth", action="store_true", help="skip the synthesis")
    p.add_argument(
        "--sequential",
        action="store_true",
        help="run golden, the simulated chip and the synthesis one after the other (default: golden and the "
        "synthesis in processes beside the chip)",
    )
    p.add_argument("--report", default=str(Path("reports") / "demo"), help="report folder (default: reports/demo)")
    p.set_defaults(func=run)


def run(args) -> int:
    from plasticore.demo import demo

    return demo(args)
