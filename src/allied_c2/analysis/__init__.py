"""What-if analysis: simulate the same workload through command structures.

See docs/analysis.md. The simulator drives the real routing and request
lifecycle code (``allied_c2.alliance``) on a virtual clock.
"""

# First: decides whether the compiled engine or its source is imported (engine_build.py).
from allied_c2.analysis.engine_build import ENGINE_BUILD

# isort: split
from allied_c2.analysis.compare import Comparison, compare, simulated_requests_per_second
from allied_c2.analysis.workload import Workload, load_workload

__all__ = [
    "ENGINE_BUILD",
    "Comparison",
    "Workload",
    "compare",
    "load_workload",
    "simulated_requests_per_second",
]
