"""Production features: tenants and quotas, audit log, deterministic caching, stats, the drop-in."""

import tempfile
from pathlib import Path

from restricted_exec import Policy, Sandbox, TenantQuota
from restricted_exec.article import execute_python_sandbox
from restricted_exec.audit import AuditDatabase, AuditLog

SAVINGS = """
balance = 0.0
for month in range(years * 12):
    balance = (balance + monthly) * (1 + rate / 12)
print(f"{balance:,.2f}")
"""

with tempfile.TemporaryDirectory() as scratch:
    database = Path(scratch) / "runs.db"
    audit = AuditLog.sqlite(database)
    quotas = {"trial": TenantQuota(rate_per_s=0.01, burst=2)}  # two runs, then wait ~100 s
    with Sandbox(Policy(deterministic=True), tenants=quotas, audit=audit) as sandbox:
        inputs = {"monthly": 3000, "rate": 0.05, "years": 5}
        first = sandbox.run(SAVINGS, inputs=inputs, tenant="acme")
        second = sandbox.run(SAVINGS, inputs=inputs, tenant="acme")  # same code and inputs
        print("acme:", first.stdout.strip(), "cache hits:", first.cache_hit, second.cache_hit)

        # Different inputs each time: a result-cache hit would run nothing and spend no quota.
        trial = [sandbox.run("print(i)", inputs={"i": i}, tenant="trial").status for i in range(3)]
        print("trial:", trial)

        clock = sandbox.run("print(datetime.date.today())", tenant="acme")
        print("clock under a deterministic policy:", clock.status, "-", clock.error.message)

        stats = sandbox.stats()
        print("stats:", stats.runs, "runs", stats.by_status, "cache hits", stats.cache_hits)
    audit.close()
    summary = AuditDatabase(database).summary()
    print("audit:", summary.runs, "runs recorded", summary.by_status)

print("article:", execute_python_sandbox("print(6 * 7)", timeout=3, memory_limit_mb=100))
