"""What-if analysis: simulate the same workload through command structures.

See docs/analysis.md. The simulator drives the real routing and request
lifecycle code (``allied_c2.alliance``) on a virtual clock.
"""

from allied_c2.analysis.compare import Comparison, compare, simulated_requests_per_second
from allied_c2.analysis.workload import Workload, load_workload

__all__ = ["Comparison", "Workload", "compare", "load_workload", "simulated_requests_per_second"]
