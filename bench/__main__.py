"""``python -m bench``: every benchmark, printed as Markdown tables for docs/performance.md."""

from . import golden_speed

golden_speed.main([])
