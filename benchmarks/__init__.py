"""Side-by-side benchmarks of restricted_exec against every peer sandbox (issue 4).

Run ``python -m benchmarks`` (full, ~10 min) or ``python -m benchmarks --quick`` (CI, < 1 min).
Each backend lives behind one small adapter module in :mod:`benchmarks.backends`.
"""
