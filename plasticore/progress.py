"""Progress bars for long runs (tqdm on stderr; silent when stderr is not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(desc: str, total: int | None = None, unit: str = "tick") -> Callable[[Iterable], Iterable]:
    """A wrapper for ``golden.run(progress=...)`` and friends: ``progress_bar('x')(range(n))``;
    ``unit`` names what is counted (ticks, samples, ...)."""

    def wrap(it: Iterable) -> Iterable:
        return tqdm(
            it, desc=desc, total=total, unit=unit, leave=False, disable=not sys.stderr.isatty(), dynamic_ncols=True
        )

    return wrap
