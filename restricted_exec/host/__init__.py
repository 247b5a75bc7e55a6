"""Services of the caller's process around a run: never reached by a child.

Admission and fair scheduling, tenants and quotas, the compile and result caches, metrics, the
audit log, inline mode, and the host's reading of a child's reply (``reply``: every byte is
hostile) and of how a run ended (``endings``).
"""
