"""``python -m bench``: every benchmark, printed as Markdown tables for docs/performance.md."""

from . import core_cycles, golden_speed, learn_cycles

for name, bench in (("golden inference speed", golden_speed), ("core cycles per tick", core_cycles),
                    ("learning cycles per tick", learn_cycles)):
    print(f"\n### {name}\n")
    bench.main([])
