"""The corpus of model-style calculation programs used for the "runs like CPython" fraction.

The main source is the functional test corpus (``tests/functional/snippets_*.py``, imported
read-only: each module's ``CASES`` is a list of pytest params whose first value is the
source). Those snippets rely on restricted_exec's preloaded ``math``/``datetime``/``json``, so
every program gets ``PRELUDE`` (the matching imports) in front, for every backend and for the
CPython reference alike. If the functional tests are not importable (no pytest, or an sdist
without tests), the small bundled set below is used instead.
"""

from __future__ import annotations

import glob
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

PRELUDE = "import math\nimport datetime\nimport json\n"

FUNCTIONAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "functional"


@dataclass(frozen=True)
class Program:
    id: str
    source: str
    origin: str  # "functional" or "bundled"


BUNDLED: dict[str, str] = {
    "mortgage_payment": """\
principal, rate, years = 350_000, 0.061, 30
r = rate / 12
n = years * 12
payment = principal * r / (1 - (1 + r) ** -n)
print(f"Monthly payment: {payment:,.2f}")
print(f"Total interest: {payment * n - principal:,.2f}")
""",
    "percent_change_table": """\
prices = {"2021": 120.0, "2022": 138.5, "2023": 131.2, "2024": 149.9}
years = sorted(prices)
for a, b in zip(years, years[1:]):
    change = (prices[b] - prices[a]) / prices[a] * 100
    print(f"{a}->{b}: {change:+.2f}%")
""",
    "mean_median_stdev": """\
import statistics
data = [2.5, 3.7, 1.2, 9.8, 4.4, 4.4, 6.1]
print(statistics.mean(data), statistics.median(data))
print(round(statistics.stdev(data), 4), statistics.mode(data))
""",
    "days_until": """\
start = datetime.date(2024, 3, 15)
deadline = datetime.date(2024, 11, 5)
delta = deadline - start
print(delta.days, "days,", delta.days // 7, "weeks")
print(start + datetime.timedelta(days=100))
""",
    "unit_conversion": """\
KM_PER_MILE = 1.609344
for miles in (1, 5, 10, 26.2):
    print(f"{miles:>5} mi = {miles * KM_PER_MILE:8.3f} km")
celsius = [-40, 0, 37, 100]
print([round(c * 9 / 5 + 32, 1) for c in celsius])
""",
    "word_frequency": """\
from collections import Counter
text = "the quick brown fox jumps over the lazy dog the fox"
counts = Counter(text.split())
for word, n in counts.most_common(3):
    print(word, n)
""",
    "decimal_invoice": """\
from decimal import Decimal, ROUND_HALF_UP
items = [("widget", Decimal("19.99"), 3), ("gadget", Decimal("5.25"), 7)]
subtotal = sum(price * qty for _, price, qty in items)
tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
print(subtotal, tax, subtotal + tax)
""",
    "fraction_sum": """\
from fractions import Fraction
total = sum(Fraction(1, n) for n in range(1, 11))
print(total, float(total))
""",
    "primes_sieve": """\
def primes(limit):
    sieve = [True] * (limit + 1)
    sieve[0:2] = [False, False]
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            for j in range(i * i, limit + 1, i):
                sieve[j] = False
    return [i for i, p in enumerate(sieve) if p]

ps = primes(200)
print(len(ps), ps[-5:])
""",
    "dataclass_inventory": """\
from dataclasses import dataclass

@dataclass
class Item:
    name: str
    price: float
    qty: int

    @property
    def value(self):
        return self.price * self.qty

stock = [Item("bolt", 0.25, 400), Item("nut", 0.1, 1000), Item("gear", 12.5, 8)]
print(max(stock, key=lambda i: i.value))
print(f"{sum(i.value for i in stock):.2f}")
""",
    "json_summary": """\
payload = '{"orders": [{"id": 1, "total": 25.5}, {"id": 2, "total": 74.25}]}'
data = json.loads(payload)
totals = [o["total"] for o in data["orders"]]
print(json.dumps({"count": len(totals), "sum": sum(totals)}, sort_keys=True))
""",
    "generator_pipeline": """\
def squares(n):
    for i in range(n):
        yield i * i

evens = (x for x in squares(20) if x % 2 == 0)
print(sum(evens), list(squares(5)))
""",
    "exception_handling": """\
def safe_div(a, b):
    try:
        return a / b
    except ZeroDivisionError as e:
        print("error:", e)
        return None
    finally:
        print("checked", a, b)

print(safe_div(10, 4), safe_div(1, 0))
""",
    "sorting_records": """\
people = [("Ana", 31, 52000), ("Bo", 25, 61000), ("Cy", 31, 48000)]
for name, age, pay in sorted(people, key=lambda p: (-p[1], p[2])):
    print(f"{name:<4}{age:>3}{pay:>8,}")
""",
    "compound_growth_years": """\
balance, target, rate, years = 1000.0, 2000.0, 0.07, 0
while balance < target:
    balance *= 1 + rate
    years += 1
print(years, round(balance, 2), round(math.log(2) / math.log(1 + rate), 2))
""",
}


def _functional() -> list[Program]:
    if not FUNCTIONAL_DIR.is_dir():
        return []
    path = str(FUNCTIONAL_DIR)
    added = path not in sys.path
    if added:
        sys.path.insert(0, path)
    programs: list[Program] = []
    try:
        for file in sorted(glob.glob(os.path.join(path, "snippets_*.py"))):
            name = Path(file).stem
            if name == "snippets_base":
                continue
            try:
                module = importlib.import_module(name)
            except Exception:  # a module being edited right now: skip it, keep the rest
                continue
            for param in getattr(module, "CASES", []):
                values = getattr(param, "values", None)
                if not values or not isinstance(values[0], str):
                    continue
                case_id = f"{name.removeprefix('snippets_')}/{getattr(param, 'id', '?')}"
                programs.append(Program(case_id, PRELUDE + values[0], "functional"))
    finally:
        if added:
            sys.path.remove(path)
    return programs


def load(limit: int | None = None) -> list[Program]:
    """The corpus; ``limit`` keeps an evenly spread subset (for --quick)."""
    programs = _functional()
    if not programs:
        programs = [Program(k, PRELUDE + v, "bundled") for k, v in BUNDLED.items()]
    if limit is not None and len(programs) > limit:
        step = len(programs) / limit
        programs = [programs[int(i * step)] for i in range(limit)]
    return programs
