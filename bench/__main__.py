"""``python -m plasticore.bench [NAME [options]]``: every benchmark, printed as Markdown tables
for docs/performance.md and docs/reliability.md; with a NAME (``mutation``, ``soak``, ...),
that one alone with its options (``python -m plasticore.bench soak --help``)."""

import sys

from . import core_cycles, eprop_bptt_gap, golden_speed, host_link, learn_cycles, mutation, soak
from .nest_eprop import nest_available

BENCHES = {
    "golden_speed": ("golden inference speed", golden_speed),
    "core_cycles": ("core cycles per tick", core_cycles),
    "learn_cycles": ("learning cycles per tick", learn_cycles),
    "host_link": ("host link over the simulated transport", host_link),
    "eprop_bptt_gap": ("e-prop against BPTT", eprop_bptt_gap),
    "mutation": ("mutation score of the co-simulation", mutation),
    "soak": ("soak: RTL ticks against golden, fuzzed frames", soak),
}

if len(sys.argv) > 1:
    name = sys.argv[1]
    if name not in BENCHES:
        sys.exit(f"bench: {name!r} is not one of {', '.join(BENCHES)}")
    sys.exit(BENCHES[name][1].main(sys.argv[2:]))

available, why = nest_available()
if available:
    from . import eprop_vs_nest

    BENCHES["eprop_vs_nest"] = ("float e-prop against NEST", eprop_vs_nest)
else:
    print(f"(skipping the NEST comparison: {why})")

for title, bench in BENCHES.values():
    print(f"\n### {title}\n")
    bench.main([])
