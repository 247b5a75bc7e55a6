"""Finance: interest, annuities, amortization, NPV/IRR, portfolios, tax brackets."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "compound_interest_table",
        """
        principal = 10_000
        rate = 0.045
        for years in (1, 5, 10, 20, 30):
            for n, label in ((1, "annual"), (12, "monthly"), (365, "daily")):
                amount = principal * (1 + rate / n) ** (n * years)
                print(f"{years:>2}y {label:<8} {amount:>12,.2f}")
        continuous = principal * math.exp(rate * 30)
        print(f"continuous: {continuous:,.2f}")
        round(continuous, 2)
        """,
    ),
    case(
        "future_value_of_savings_plan",
        """
        monthly = 500
        annual_rate = 0.06
        years = 25
        r = annual_rate / 12
        n = years * 12
        fv = monthly * ((1 + r) ** n - 1) / r
        fv_due = fv * (1 + r)
        contributed = monthly * n
        print(f"Future value: ${fv:,.2f}")
        print(f"Annuity due:  ${fv_due:,.2f}")
        print(f"Contributed:  ${contributed:,.2f}  Interest: ${fv - contributed:,.2f}")
        """,
    ),
    case(
        "loan_amortization_schedule",
        """
        def amortize(principal, annual_rate, years):
            r = annual_rate / 12
            n = years * 12
            payment = principal * r * (1 + r) ** n / ((1 + r) ** n - 1)
            balance = principal
            schedule = []
            for month in range(1, n + 1):
                interest = balance * r
                principal_part = payment - interest
                balance -= principal_part
                schedule.append((month, payment, interest, principal_part, max(balance, 0)))
            return payment, schedule

        payment, rows = amortize(200_000, 0.065, 15)
        print(f"Monthly payment: {payment:.2f}")
        print(f"{'Month':>5} {'Payment':>10} {'Interest':>10} {'Principal':>10} {'Balance':>12}")
        for m, p, i, pr, b in rows[:3] + rows[-2:]:
            print(f"{m:>5} {p:>10.2f} {i:>10.2f} {pr:>10.2f} {b:>12.2f}")
        total_interest = sum(r[2] for r in rows)
        print(f"Total interest: {total_interest:,.2f}")
        """,
    ),
    case(
        "npv_irr_bisection_and_newton",
        """
        def npv(rate, cashflows):
            return sum(cf / (1 + rate) ** t for t, cf in enumerate(cashflows))

        def irr_bisect(cashflows, lo=-0.99, hi=1.0, tol=1e-10):
            for _ in range(200):
                mid = (lo + hi) / 2
                if npv(lo, cashflows) * npv(mid, cashflows) <= 0:
                    hi = mid
                else:
                    lo = mid
                if hi - lo < tol:
                    break
            return (lo + hi) / 2

        def irr_newton(cashflows, guess=0.1):
            rate = guess
            for i in range(100):
                f = npv(rate, cashflows)
                df = sum(-t * cf / (1 + rate) ** (t + 1) for t, cf in enumerate(cashflows))
                new = rate - f / df
                if abs(new - rate) < 1e-12:
                    return new, i
                rate = new
            raise RuntimeError("IRR did not converge")

        flows = [-10000, 3000, 4200, 6800]
        print(f"NPV @8%: {npv(0.08, flows):.2f}")
        print(f"IRR (bisection): {irr_bisect(flows):.6%}")
        rate, iters = irr_newton(flows)
        print(f"IRR (newton): {rate:.6%} after {iters} iterations")
        """,
    ),
    case(
        "decimal_invoice",
        """
        from decimal import Decimal, ROUND_HALF_UP

        CENT = Decimal("0.01")
        lines = [("Consulting", Decimal("12.5"), Decimal("95.00")), ("Travel", Decimal("1"), Decimal("342.18"))]
        subtotal = Decimal("0")
        for desc, hours, rate in lines:
            amount = (hours * rate).quantize(CENT, ROUND_HALF_UP)
            subtotal += amount
            print(f"{desc:<12}{hours:>6} x {rate:>8} = {amount:>10}")
        vat = (subtotal * Decimal("0.19")).quantize(CENT, ROUND_HALF_UP)
        print(f"{'Subtotal':<30}{subtotal:>10}\\n{'VAT 19%':<30}{vat:>10}\\n{'Total':<30}{subtotal + vat:>10}")
        subtotal + vat
        """,
    ),
    case(
        "progressive_tax",
        """
        BRACKETS = [(11_000, 0.10), (44_725, 0.12), (95_375, 0.22), (182_100, 0.24), (float("inf"), 0.32)]

        def tax(income):
            owed, lower = 0.0, 0
            for upper, rate in BRACKETS:
                if income <= lower:
                    break
                owed += (min(income, upper) - lower) * rate
                lower = upper
            return owed

        for income in (9_000, 50_000, 120_000, 250_000):
            t = tax(income)
            print(f"{income:>9,} -> tax {t:>10,.2f}  effective {t / income:.2%}")
        """,
    ),
    case(
        "portfolio_returns",
        """
        prices = {"AAA": [100, 102, 101, 105, 110], "BBB": [50, 49, 51, 53, 52]}
        weights = {"AAA": 0.6, "BBB": 0.4}
        returns = {k: [b / a - 1 for a, b in zip(v, v[1:])] for k, v in prices.items()}
        port = [sum(weights[k] * returns[k][i] for k in weights) for i in range(4)]
        growth = 1.0
        for r in port:
            growth *= 1 + r
        mean = sum(port) / len(port)
        vol = (sum((r - mean) ** 2 for r in port) / (len(port) - 1)) ** 0.5
        print({k: [round(x, 4) for x in v] for k, v in returns.items()})
        print(f"cumulative {growth - 1:.4%}, mean {mean:.4%}, vol {vol:.4%}, sharpe {mean / vol:.3f}")
        """,
    ),
    case(
        "currency_conversion_rounding",
        """
        from decimal import Decimal, ROUND_HALF_EVEN
        rates = {"USD": Decimal("1"), "EUR": Decimal("0.9213"), "JPY": Decimal("151.37")}
        def convert(amount, src, dst):
            usd = Decimal(amount) / rates[src]
            return (usd * rates[dst]).quantize(Decimal("1") if dst == "JPY" else Decimal("0.01"), ROUND_HALF_EVEN)
        for amt, s, d in [("100", "USD", "EUR"), ("100", "EUR", "JPY"), ("12345", "JPY", "USD")]:
            print(f"{amt} {s} = {convert(amt, s, d)} {d}")
        try:
            convert("5", "USD", "GBP")
        except KeyError as e:
            print("unknown currency", e)
        """,
    ),
    case(
        "depreciation_methods",
        """
        cost, salvage, life = 50_000, 5_000, 5
        straight = (cost - salvage) / life
        print("straight-line:", [round(straight, 2)] * life)
        book = cost
        ddb = []
        for year in range(life):
            dep = min(book * 2 / life, book - salvage)
            ddb.append(round(dep, 2))
            book -= dep
        print("double-declining:", ddb, round(book, 2))
        syd_total = life * (life + 1) // 2
        print("sum-of-years:", [round((cost - salvage) * (life - y) / syd_total, 2) for y in range(life)])
        """,
    ),
    case(
        "break_even_and_margins",
        """
        fixed_costs = 120_000
        price, variable = 45.0, 27.5
        contribution = price - variable
        units = math.ceil(fixed_costs / contribution)
        print(f"contribution margin {contribution:.2f} ({contribution / price:.1%}), break-even {units:,} units")
        for volume in range(5000, 9001, 1000):
            profit = volume * contribution - fixed_costs
            print(f"{volume:>6}: {'+' if profit >= 0 else '-'}{abs(profit):>10,.2f}")
        """,
    ),
    case(
        "bank_account_ledger_classes",
        """
        from datetime import date
        from dataclasses import dataclass, field

        class OverdraftError(Exception):
            def __init__(self, needed):
                super().__init__(f"overdraft by {needed:.2f}")
                self.needed = needed

        @dataclass
        class Transaction:
            day: date
            amount: float
            memo: str = ""

        @dataclass
        class Account:
            owner: str
            _balance: float = 0.0
            transactions: list = field(default_factory=list)

            def post(self, day, amount, memo=""):
                if self._balance + amount < 0:
                    raise OverdraftError(-(self._balance + amount))
                self._balance += amount
                self.transactions.append(Transaction(day, amount, memo))

            @property
            def balance(self):
                return round(self._balance, 2)

        acct = Account("Dana")
        acct.post(date(2024, 1, 1), 1000, "salary")
        acct.post(date(2024, 1, 3), -250.75, "rent")
        try:
            acct.post(date(2024, 1, 4), -900, "tv")
        except OverdraftError as e:
            print("declined:", e, e.needed)
        for t in acct.transactions:
            print(t.day.isoformat(), f"{t.amount:>9.2f}", t.memo)
        print("balance", acct.balance)
        acct.balance
        """,
    ),
    case(
        "savings_goal_while_loop",
        """
        balance, goal, deposit, rate = 2_000.0, 25_000.0, 350.0, 0.04 / 12
        months = 0
        while balance < goal:
            balance = balance * (1 + rate) + deposit
            months += 1
        years, rem = divmod(months, 12)
        print(f"goal reached in {years} years {rem} months with {balance:,.2f}")
        months
        """,
    ),
    case(
        "inflation_adjusted",
        """
        cpi = {2019: 255.7, 2020: 258.8, 2021: 271.0, 2022: 292.7, 2023: 304.7}
        salary = {2019: 60000, 2023: 68000}
        real = salary[2023] * cpi[2019] / cpi[2023]
        yoy = {y: cpi[y] / cpi[y - 1] - 1 for y in list(cpi)[1:]}
        print({y: f"{v:.2%}" for y, v in yoy.items()})
        print(f"2023 salary in 2019 dollars: {real:,.0f} ({real / salary[2019] - 1:+.1%})")
        """,
    ),
    case(
        "stock_profit_max",
        """
        prices = [7, 1, 5, 3, 6, 4, 8, 2]
        best, low, buy_day, sell_day, low_day = 0, prices[0], 0, 0, 0
        for day, p in enumerate(prices):
            if p < low:
                low, low_day = p, day
            elif p - low > best:
                best, buy_day, sell_day = p - low, low_day, day
        multi = sum(max(b - a, 0) for a, b in zip(prices, prices[1:]))
        print(f"single trade: buy day {buy_day} sell day {sell_day} profit {best}; multi {multi}")
        """,
    ),
    case(
        "rule_of_72_vs_exact",
        """
        for pct in (2, 4, 6, 8, 10, 12):
            exact = math.log(2) / math.log1p(pct / 100)
            print(f"{pct:>3}%: rule72 {72 / pct:6.2f}  exact {exact:6.2f}  error {72 / pct - exact:+.3f}")
        """,
    ),
    case(
        "fraction_split_bill",
        """
        from fractions import Fraction
        total = Fraction(12345, 100)
        people = {"ann": 2, "bob": 1, "cy": 1}
        units = sum(people.values())
        shares = {p: total * n / units for p, n in people.items()}
        print({p: f"{float(s):.2f}" for p, s in shares.items()}, sum(shares.values()) == total)
        cents = {p: int(s * 100) for p, s in shares.items()}
        leftover = int(total * 100) - sum(cents.values())
        for p in sorted(people)[:leftover]:
            cents[p] += 1
        print(cents, sum(cents.values()))
        """,
    ),
]
