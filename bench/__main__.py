"""``python -m plasticore.bench``: every benchmark, printed as Markdown tables for docs/performance.md."""

from . import core_cycles, eprop_bptt_gap, golden_speed, host_link, learn_cycles
from .nest_eprop import nest_available

BENCHES = [
    ("golden inference speed", golden_speed),
    ("core cycles per tick", core_cycles),
    ("learning cycles per tick", learn_cycles),
    ("host link over the simulated transport", host_link),
    ("e-prop against BPTT", eprop_bptt_gap),
]

available, why = nest_available()
if available:
    from . import eprop_vs_nest

    BENCHES.append(("float e-prop against NEST", eprop_vs_nest))
else:
    print(f"(skipping the NEST comparison: {why})")

for name, bench in BENCHES:
    print(f"\n### {name}\n")
    bench.main([])
