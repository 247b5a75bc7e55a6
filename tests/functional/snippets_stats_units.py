"""Statistics by hand and with the statistics module; unit conversion."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "descriptive_stats_by_hand",
        """
        data = [12.5, 15.0, 11.2, 19.8, 14.4, 13.3, 22.1, 9.7, 16.6, 15.0]
        n = len(data)
        mean = sum(data) / n
        s = sorted(data)
        median = (s[n // 2 - 1] + s[n // 2]) / 2 if n % 2 == 0 else s[n // 2]
        var = sum((x - mean) ** 2 for x in data) / (n - 1)
        sd = math.sqrt(var)
        skew = sum(((x - mean) / sd) ** 3 for x in data) * n / ((n - 1) * (n - 2))
        print(f"n={n} mean={mean:.3f} median={median} var={var:.4f} sd={sd:.4f} skew={skew:.4f}")
        print(f"range={max(data) - min(data):.1f} cv={sd / mean:.2%}")
        {"mean": mean, "median": median, "sd": sd}
        """,
    ),
    case(
        "percentiles_and_outliers",
        """
        import statistics
        values = [3, 7, 8, 5, 12, 14, 21, 13, 18, 95, 6, 9]
        q1, q2, q3 = statistics.quantiles(values, n=4)
        iqr = q3 - q1
        outliers = [v for v in values if v < q1 - 1.5 * iqr or v > q3 + 1.5 * iqr]
        def percentile(xs, p):
            xs = sorted(xs)
            k = (len(xs) - 1) * p / 100
            f, c = math.floor(k), math.ceil(k)
            return xs[f] if f == c else xs[f] + (xs[c] - xs[f]) * (k - f)
        print(q1, q2, q3, iqr, outliers, [percentile(values, p) for p in (10, 50, 90)])
        """,
    ),
    case(
        "linear_regression_least_squares",
        """
        xs = [1, 2, 3, 4, 5, 6]
        ys = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2]
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sxy / sxx
        intercept = my - slope * mx
        ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys))
        ss_tot = sum((y - my) ** 2 for y in ys)
        print(f"y = {slope:.4f}x + {intercept:.4f}, R^2 = {1 - ss_res / ss_tot:.5f}")
        print(f"predict x=10: {slope * 10 + intercept:.2f}")
        """,
    ),
    case(
        "moving_averages",
        """
        from collections import deque
        prices = [10, 11, 12, 13, 12, 11, 15, 16, 18, 17]
        window, q, sma = 3, deque(), []
        for p in prices:
            q.append(p)
            if len(q) > window:
                q.popleft()
            if len(q) == window:
                sma.append(round(sum(q) / window, 3))
        alpha, ema = 0.5, [prices[0]]
        for p in prices[1:]:
            ema.append(alpha * p + (1 - alpha) * ema[-1])
        print(sma)
        print(ema)
        """,
    ),
    case(
        "histogram_text",
        """
        from collections import Counter
        import random
        random.seed(3)
        rolls = [random.randint(1, 6) + random.randint(1, 6) for _ in range(500)]
        hist = Counter(rolls)
        for total in range(2, 13):
            bar = "#" * (hist[total] // 4)
            print(f"{total:>2} {hist[total]:>3} {bar}")
        """,
    ),
    case(
        "weighted_average_grades",
        """
        weights = {"homework": 0.2, "midterm": 0.3, "final": 0.5}
        students = {"ann": {"homework": 92, "midterm": 85, "final": 88},
                    "bob": {"homework": 75, "midterm": 68, "final": 81}}
        report = {}
        for name, marks in students.items():
            score = sum(marks[k] * w for k, w in weights.items())
            report[name] = round(score, 2)
            print(f"{name:<5} {score:6.2f} {'pass' if score >= 70 else 'fail'}")
        report
        """,
    ),
    case(
        "z_scores_and_normal",
        """
        from statistics import NormalDist, mean, stdev
        heights = [160, 165, 170, 175, 180, 185, 172, 168]
        m, s = mean(heights), stdev(heights)
        print([round((h - m) / s, 3) for h in heights])
        dist = NormalDist(m, s)
        print(f"P(h > 180) = {1 - dist.cdf(180):.4f}, 95th pct = {dist.inv_cdf(0.95):.2f}")
        """,
    ),
    case(
        "correlation_matrix",
        """
        import statistics as st
        cols = {"a": [1, 2, 3, 4, 5], "b": [2, 4, 5, 4, 5], "c": [5, 3, 2, 2, 1]}
        names = list(cols)
        print("     " + "".join(f"{n:>8}" for n in names))
        for r in names:
            print(f"{r:<5}" + "".join(f"{st.correlation(cols[r], cols[c]):>8.3f}" for c in names))
        """,
    ),
    case(
        "temperature_conversions",
        """
        def c_to_f(c): return c * 9 / 5 + 32
        def f_to_c(f): return (f - 32) * 5 / 9
        def c_to_k(c): return c + 273.15
        for c in (-40, 0, 37, 100):
            print(f"{c:>5}C = {c_to_f(c):>6.1f}F = {c_to_k(c):>7.2f}K")
        print([round(f_to_c(f), 2) for f in (32, 98.6, 451)])
        """,
    ),
    case(
        "unit_table_lookup",
        """
        LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1, "km": 1000, "in": 0.0254, "ft": 0.3048, "mi": 1609.344}
        MASS = {"g": 0.001, "kg": 1, "lb": 0.45359237, "oz": 0.028349523125}

        def convert(value, src, dst):
            for table in (LENGTH, MASS):
                if src in table and dst in table:
                    return value * table[src] / table[dst]
            raise ValueError(f"cannot convert {src} to {dst}")

        print(f"{convert(26.2, 'mi', 'km'):.3f} km, {convert(6, 'ft', 'cm'):.1f} cm, {convert(150, 'lb', 'kg'):.2f} kg")
        print(round(convert(1, "km", "mi"), 6), convert(16, "oz", "lb"))
        try:
            convert(1, "kg", "m")
        except ValueError as e:
            print(e)
        """,
    ),
    case(
        "fuel_economy_and_speed",
        """
        def mpg_to_l100km(mpg):
            return 235.214583 / mpg
        for mpg in (20, 30, 45):
            print(f"{mpg} mpg = {mpg_to_l100km(mpg):.2f} L/100km")
        kmh = [50, 100, 130]
        print({k: round(k / 1.609344, 1) for k in kmh}, f"{100 / 3.6:.3f} m/s")
        pace = 42.195 / (3 + 29 / 60)
        print(f"marathon at {pace:.2f} km/h -> {60 / pace:.2f} min/km")
        """,
    ),
    case(
        "data_sizes_binary_vs_decimal",
        """
        def human(n, binary=True):
            base = 1024 if binary else 1000
            units = ["B", "KiB", "MiB", "GiB", "TiB"] if binary else ["B", "kB", "MB", "GB", "TB"]
            i = 0
            while n >= base and i < len(units) - 1:
                n /= base
                i += 1
            return f"{n:.2f} {units[i]}"
        for size in (512, 2048, 5_000_000, 1_099_511_627_776):
            print(f"{size:>16,} {human(size):>12} {human(size, False):>10}")
        """,
    ),
    case(
        "cooking_fractions",
        """
        from fractions import Fraction
        recipe = {"flour (cups)": Fraction(3, 4), "sugar (cups)": Fraction(1, 3), "eggs": Fraction(2)}
        scale = Fraction(5, 2)
        for item, qty in recipe.items():
            scaled = qty * scale
            whole, rest = divmod(scaled.numerator, scaled.denominator)
            text = f"{whole} {Fraction(rest, scaled.denominator)}" if whole and rest else str(scaled)
            print(f"{item:<14} {text}")
        """,
    ),
    case(
        "bmi_and_body_units",
        """
        people = [("ann", 165, 58.5), ("bob", 180, 92.0), ("cy", 172, 70.3)]
        def category(bmi):
            for limit, name in ((18.5, "under"), (25, "normal"), (30, "over")):
                if bmi < limit:
                    return name
            return "obese"
        for name, cm, kg in people:
            bmi = kg / (cm / 100) ** 2
            feet, inches = divmod(cm / 2.54, 12)
            print(f"{name}: {int(feet)}'{inches:.1f}\\" {kg * 2.20462:.1f} lb BMI {bmi:.1f} {category(bmi)}")
        """,
    ),
    case(
        "geometry_and_area_units",
        """
        rooms = {"living": (5.2, 4.1), "bed": (3.6, 3.2), "kitchen": (3.0, 2.4)}
        total_m2 = sum(w * l for w, l in rooms.values())
        print(f"{total_m2:.2f} m2 = {total_m2 * 10.7639:.1f} sq ft")
        r = 2.5
        print(f"circle {math.pi * r ** 2:.4f}, sphere {4 / 3 * math.pi * r ** 3:.4f}, hyp {math.hypot(3, 4)}")
        lat1, lon1, lat2, lon2 = map(math.radians, (52.52, 13.405, 48.8566, 2.3522))
        a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        print(f"Berlin-Paris {2 * 6371 * math.asin(math.sqrt(a)):.1f} km")
        """,
    ),
]
