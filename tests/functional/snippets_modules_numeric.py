"""Catalogue modules for numbers: math, cmath, decimal, fractions, statistics, random."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "math_functions",
        """
        print(math.sqrt(2), math.pi, math.e, math.tau, math.inf, math.nan)
        print(math.floor(-2.5), math.ceil(2.1), math.trunc(-2.7), math.fabs(-3), math.fmod(7, 3))
        print(math.log(100, 10), math.log10(1000), math.log2(8), math.log1p(1e-10), math.exp(1))
        print(math.sin(math.pi / 6), math.cos(0), math.tan(math.pi / 4), math.atan2(1, 1))
        print(math.degrees(math.pi), math.radians(180), math.hypot(3, 4), math.dist((0, 0), (3, 4)))
        print(math.gcd(48, 36), math.lcm(4, 6), math.comb(10, 3), math.perm(5, 2), math.factorial(10))
        print(math.isclose(0.1 + 0.2, 0.3), math.isqrt(99), math.prod([1, 2, 3, 4]), math.fsum([0.1] * 10))
        print(math.isfinite(1.0), math.isinf(math.inf), math.isnan(math.nan), math.copysign(3, -0.0))
        print(math.modf(3.75), math.frexp(8.0), math.ldexp(0.5, 4), math.cbrt(27), math.exp2(10))
        """,
    ),
    case(
        "math_import_forms",
        """
        import math as m
        from math import sqrt, pi as PI
        from math import floor, hypot
        print(m.sqrt(16), sqrt(25), PI, floor(2.5), hypot(5, 12))
        """,
    ),
    case(
        "cmath_quadratic",
        """
        import cmath

        def roots(a, b, c):
            d = cmath.sqrt(b * b - 4 * a * c)
            return (-b + d) / (2 * a), (-b - d) / (2 * a)

        print(roots(1, -3, 2), roots(1, 2, 5))
        z = complex(3, 4)
        print(abs(z), cmath.phase(z), cmath.polar(z), cmath.rect(1, cmath.pi / 2), cmath.exp(1j * cmath.pi))
        print(z.real, z.imag, cmath.isclose(cmath.sqrt(-1), 1j))
        """,
    ),
    case(
        "decimal_money",
        """
        from decimal import Decimal, ROUND_HALF_UP, ROUND_HALF_EVEN, getcontext, localcontext

        price = Decimal("19.99")
        qty = 3
        tax = Decimal("0.0825")
        subtotal = price * qty
        total = (subtotal * (1 + tax)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        print(subtotal, total, repr(total), Decimal("2.675").quantize(Decimal("0.01"), ROUND_HALF_EVEN))
        print(Decimal(1) / Decimal(7), Decimal("1.10") + Decimal("2.20"), Decimal(0.1))
        getcontext().prec = 6
        print(Decimal(1) / Decimal(7), Decimal(2).sqrt())
        with localcontext() as ctx:
            ctx.prec = 40
            print(Decimal(2).sqrt())
        print(Decimal("1e3").normalize(), Decimal("-0"), Decimal("3.14159").as_tuple().exponent, Decimal("NaN").is_nan())
        total
        """,
    ),
    case(
        "decimal_errors",
        """
        from decimal import Decimal, InvalidOperation, DivisionByZero
        try:
            Decimal("abc")
        except InvalidOperation as e:
            print("InvalidOperation", type(e).__name__)
        try:
            Decimal(1) / Decimal(0)
        except DivisionByZero as e:
            print("DivisionByZero", isinstance(e, ZeroDivisionError))
        print(sum([Decimal("0.1")] * 10) == Decimal("1.0"), Decimal("1.5").to_integral_value())
        """,
    ),
    case(
        "fractions_exact",
        """
        from fractions import Fraction

        shares = [Fraction(1, 3), Fraction(1, 6), Fraction(1, 4)]
        remaining = 1 - sum(shares)
        print(shares, remaining, float(remaining), remaining.numerator, remaining.denominator)
        print(Fraction("3/4") * 2, Fraction(0.5), Fraction("1.25"), Fraction(10, 4), Fraction(1, 3) ** 2)
        print(Fraction(355, 113).limit_denominator(10), round(Fraction(7, 2)), Fraction(3, 4) < 0.8)
        print(f"{Fraction(1, 3)}", str(Fraction(5, 1)), repr(Fraction(2, 3)))
        remaining
        """,
    ),
    case(
        "statistics_summary",
        """
        import statistics as st

        data = [2.5, 3.1, 4.7, 3.1, 5.0, 2.9, 3.8]
        print(st.mean(data), st.median(data), st.mode(data), st.multimode([1, 1, 2, 2]))
        print(st.stdev(data), st.pstdev(data), st.variance(data), st.pvariance(data))
        print(st.median_low([1, 2, 3, 4]), st.median_high([1, 2, 3, 4]), st.fmean([1, 2, 3]))
        print(st.geometric_mean([1, 4, 16]), st.harmonic_mean([40, 60]), st.quantiles(range(1, 101), n=4))
        print(st.correlation([1, 2, 3, 4], [2, 4, 5, 8]), st.linear_regression([1, 2, 3], [2, 4, 7]))
        print(st.covariance([1, 2, 3], [3, 2, 1]))
        try:
            st.mean([])
        except st.StatisticsError as e:
            print("StatisticsError:", e)
        """,
    ),
    case(
        "statistics_normal_dist",
        """
        from statistics import NormalDist
        from fractions import Fraction
        from decimal import Decimal
        import statistics

        iq = NormalDist(100, 15)
        print(round(iq.cdf(130), 6), round(iq.inv_cdf(0.975), 4), iq.mean, iq.stdev)
        print(round(NormalDist().pdf(0), 6), NormalDist.from_samples([1, 2, 3]).mean)
        print(statistics.mean([Fraction(1, 2), Fraction(1, 3)]), statistics.mean([Decimal("1.1"), Decimal("2.2")]))
        """,
    ),
    case(
        "random_seeded",
        """
        import random

        random.seed(42)
        print(random.random(), random.randint(1, 100), random.choice("abcdef"), random.uniform(1, 2))
        deck = list(range(10))
        random.shuffle(deck)
        print(deck, random.sample(range(100), 5), random.choices("xyz", weights=[5, 1, 1], k=6))
        print(round(random.gauss(0, 1), 12), random.randrange(0, 100, 5), random.getrandbits(16))
        rng = random.Random(2024)
        print([rng.randint(1, 6) for _ in range(10)], rng.random())
        """,
    ),
    case(
        "random_monte_carlo_pi",
        """
        import random
        random.seed(1)
        n = 20000
        inside = sum(1 for _ in range(n) if random.random() ** 2 + random.random() ** 2 <= 1)
        print(f"pi ~ {4 * inside / n:.4f}")
        """,
    ),
    case(
        "random_simulation_class",
        """
        from random import Random

        class Dice:
            def __init__(self, seed):
                self._rng = Random(seed)
            def roll(self, n=2):
                return [self._rng.randint(1, 6) for _ in range(n)]

        d = Dice(7)
        totals = {}
        for _ in range(1000):
            s = sum(d.roll())
            totals[s] = totals.get(s, 0) + 1
        print(sorted(totals.items()))
        """,
    ),
    case(
        "number_theory",
        """
        def primes_upto(n):
            sieve = [True] * (n + 1)
            sieve[0:2] = [False, False]
            for i in range(2, math.isqrt(n) + 1):
                if sieve[i]:
                    sieve[i * i::i] = [False] * len(sieve[i * i::i])
            return [i for i, p in enumerate(sieve) if p]

        ps = primes_upto(100)
        print(len(ps), ps[-5:], sum(ps))
        print([n for n in range(2, 30) if all(n % p for p in range(2, n))] == ps[:10])
        print(math.gcd(*[84, 126, 210]), pow(7, 128, 13), [divmod(n, 7) for n in (50, 49)])
        """,
    ),
]
