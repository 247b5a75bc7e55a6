"""The workloads, as data: each is a source string plus the limits it runs under.

``kind`` says what a correct answer is: ``"output"`` (CPython's stdout and success),
``"error"`` (CPython's stdout and the same exception type), ``"timeout"`` (the run is stopped
by the time limit) or ``"memory"`` (the run is stopped by the memory limit, the host lives).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WorkloadKind = Literal["output", "error", "timeout", "memory"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_MB = 256


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    source: str
    kind: WorkloadKind = "output"
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


COMPOUND_INTEREST = (
    "P = 3000 * 12; r = 0.05; t = 5; A = P * ((1 + r)**t - 1) / r; "
    'print(f"五年后总额约为: {A:.2f} 元")'
)

BUSINESS_DAYS = """\
import datetime

def business_days(start, end):
    days = 0
    current = start
    while current < end:
        if current.weekday() < 5:
            days += 1
        current += datetime.timedelta(days=1)
    return days

start = datetime.date(2024, 1, 1)
end = datetime.date(2024, 12, 31)
n = business_days(start, end)
print(f"Business days from {start.isoformat()} to {end.isoformat()}: {n}")
print(f"Calendar days: {(end - start).days}, weekends: {(end - start).days - n}")
"""

JSON_ROUND_TRIP = """\
import json

record = {
    "id": 1042,
    "customer": "Acme GmbH",
    "items": [
        {"sku": "A-1", "qty": 3, "price": 19.99},
        {"sku": "B-7", "qty": 1, "price": 249.0},
        {"sku": "C-3", "qty": 12, "price": 0.5},
    ],
    "paid": False,
    "tags": ["b2b", "eu"],
}
text = json.dumps(record, sort_keys=True)
back = json.loads(text)
total = sum(item["qty"] * item["price"] for item in back["items"])
print(len(text), back == record)
print(f"total={total:.2f}")
print(json.dumps(back["items"][0], indent=2))
"""

LOOP_HEAVY = """\
import math

values = [0.0] * 100
total = 0.0
count = 0
for i in range(100_000):
    j = i % 100
    values[j] += math.sqrt(i)
    total += values[j] * 0.5
    count += 1
print(count, round(total, 3), round(sum(values), 3))
"""

FIB = """\
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

print(fib(20))
"""

ACCOUNT = """\
class Account:
    def __init__(self, owner, balance=0.0):
        self.owner = owner
        self._balance = balance
        self.history = []

    @property
    def balance(self):
        return self._balance

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self._balance += amount
        self.history.append(("deposit", amount))

    def add_interest(self, rate):
        interest = self._balance * rate
        self._balance += interest
        self.history.append(("interest", round(interest, 2)))

    def __repr__(self):
        return f"Account({self.owner!r}, {self._balance:.2f})"

acct = Account("Ada", 1000.0)
for month in range(1, 13):
    acct.deposit(250)
    acct.add_interest(0.04 / 12)
print(acct)
print(len(acct.history), acct.history[-1])
print(f"{acct.balance:,.2f}")
"""

ERROR_PATH = """\
prices = [12.5, 7.25, 3.0]
print("average of", len(prices), "prices")
count = 0
average = sum(prices) / count
print(average)
"""

INFINITE_LOOP = """\
n = 0
while True:
    n += 1
"""

MEMORY_BOMB = """\
chunks = []
while True:
    chunks.append(" " * 1_000_000)
"""

WORKLOADS: tuple[Workload, ...] = (
    Workload("compound_interest", "Article compound interest", COMPOUND_INTEREST),
    Workload("business_days", "Business days (datetime)", BUSINESS_DAYS),
    Workload("json_round_trip", "JSON round-trip", JSON_ROUND_TRIP),
    Workload("loop_heavy", "Loop-heavy (100k iterations)", LOOP_HEAVY),
    Workload("fib20", "Recursion fib(20)", FIB),
    Workload("account_class", "Class-based account", ACCOUNT),
    Workload("error_path", "Error path (ZeroDivisionError)", ERROR_PATH, kind="error"),
    Workload("timeout", "Timeout (infinite loop, 100 ms)", INFINITE_LOOP, "timeout", 0.1),
    Workload("memory_bomb", "Memory bomb (64 MB)", MEMORY_BOMB, "memory", 5.0, 64),
)

BY_NAME = {workload.name: workload for workload in WORKLOADS}

# The snippet every throughput caller runs.
THROUGHPUT_WORKLOAD = BY_NAME["compound_interest"]
