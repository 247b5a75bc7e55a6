"""Dates: business days, ages, schedules, durations, calendars."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "business_days_between",
        """
        from datetime import date, timedelta

        HOLIDAYS = {date(2024, 1, 1), date(2024, 5, 27), date(2024, 7, 4), date(2024, 12, 25)}

        def business_days(start, end):
            days = 0
            current = start
            while current < end:
                if current.weekday() < 5 and current not in HOLIDAYS:
                    days += 1
                current += timedelta(days=1)
            return days

        def add_business_days(start, n):
            current = start
            while n > 0:
                current += timedelta(days=1)
                if current.weekday() < 5 and current not in HOLIDAYS:
                    n -= 1
            return current

        print(business_days(date(2024, 1, 1), date(2024, 2, 1)))
        print(business_days(date(2024, 7, 1), date(2024, 7, 8)), add_business_days(date(2024, 12, 20), 5))
        add_business_days(date(2024, 7, 3), 1)
        """,
    ),
    case(
        "age_calculation",
        """
        from datetime import date

        def age(born, today):
            return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

        today = date(2024, 6, 15)
        for born in (date(1990, 6, 15), date(1990, 6, 16), date(2000, 2, 29), date(2023, 12, 31)):
            print(born, age(born, today), (today - born).days)
        """,
    ),
    case(
        "exact_age_years_months_days",
        """
        import calendar
        from datetime import date

        def diff(start, end):
            years = end.year - start.year
            months = end.month - start.month
            days = end.day - start.day
            if days < 0:
                months -= 1
                prev_month = end.month - 1 or 12
                prev_year = end.year if end.month > 1 else end.year - 1
                days += calendar.monthrange(prev_year, prev_month)[1]
            if months < 0:
                years -= 1
                months += 12
            return years, months, days

        print(diff(date(1985, 11, 30), date(2024, 3, 1)), diff(date(2024, 1, 31), date(2024, 3, 1)))
        """,
    ),
    case(
        "monthly_schedule_end_of_month",
        """
        import calendar
        from datetime import date

        def add_months(d, months):
            m = d.month - 1 + months
            year, month = d.year + m // 12, m % 12 + 1
            day = min(d.day, calendar.monthrange(year, month)[1])
            return date(year, month, day)

        start = date(2024, 1, 31)
        schedule = [add_months(start, i) for i in range(6)]
        print([d.isoformat() for d in schedule])
        print([d.strftime("%b %d") for d in schedule if d.weekday() >= 5])
        """,
    ),
    case(
        "payroll_biweekly_fridays",
        """
        from datetime import date, timedelta
        first = date(2024, 1, 5)
        paydays = []
        d = first
        while d.year == 2024:
            paydays.append(d)
            d += timedelta(weeks=2)
        by_month = {}
        for p in paydays:
            by_month.setdefault(p.strftime("%B"), []).append(p.day)
        print(len(paydays), [m for m, days in by_month.items() if len(days) == 3])
        print(paydays[-1], paydays[-1].strftime("%A"))
        """,
    ),
    case(
        "duration_formatting",
        """
        from datetime import timedelta

        def humanize(seconds):
            td = timedelta(seconds=seconds)
            days = td.days
            hours, rem = divmod(td.seconds, 3600)
            minutes, secs = divmod(rem, 60)
            parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
            return " ".join(f"{v}{u}" for v, u in parts if v) or "0s"

        for s in (0, 59, 3600, 3661, 90061, 1_000_000):
            print(f"{s:>8} -> {humanize(s):<14} {timedelta(seconds=s)}")
        """,
    ),
    case(
        "timezones_and_meetings",
        """
        from datetime import datetime, timedelta, timezone
        zones = {"UTC": timezone.utc, "NYC": timezone(timedelta(hours=-4)), "Tokyo": timezone(timedelta(hours=9), "JST")}
        meeting = datetime(2024, 9, 12, 15, 0, tzinfo=timezone.utc)
        for name, tz in zones.items():
            local = meeting.astimezone(tz)
            print(f"{name:<6} {local:%Y-%m-%d %H:%M %Z} offset {local.utcoffset()}")
        print(meeting.isoformat(), (meeting + timedelta(hours=30)).astimezone(zones["Tokyo"]).date())
        """,
    ),
    case(
        "week_numbers_and_quarters",
        """
        from datetime import date, timedelta
        days = [date(2024, 1, 1) + timedelta(days=n) for n in (0, 45, 100, 200, 364)]
        for d in days:
            iso = d.isocalendar()
            quarter = (d.month - 1) // 3 + 1
            print(d, f"W{iso.week:02d}", f"Q{quarter}", d.strftime("%a"), d.timetuple().tm_yday)
        """,
    ),
    case(
        "parse_dates_in_text",
        """
        import re
        from datetime import datetime
        text = "Invoice 2024-02-10, due 10/03/2024; paid March 5, 2024"
        found = []
        for pattern, fmt in [(r"\\d{4}-\\d{2}-\\d{2}", "%Y-%m-%d"), (r"\\d{2}/\\d{2}/\\d{4}", "%d/%m/%Y"),
                             (r"[A-Z][a-z]+ \\d{1,2}, \\d{4}", "%B %d, %Y")]:
            for m in re.findall(pattern, text):
                found.append(datetime.strptime(m, fmt).date())
        print(found, (found[1] - found[0]).days, found[2] <= found[1])
        """,
    ),
    case(
        "leap_years_and_month_lengths",
        """
        import calendar
        leaps = [y for y in range(1896, 1920) if calendar.isleap(y)]
        print(leaps, [calendar.monthrange(2023, m)[1] for m in range(1, 13)])
        print(sum(calendar.monthrange(2024, m)[1] for m in range(1, 13)))
        def is_leap(y):
            return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        print(all(is_leap(y) == calendar.isleap(y) for y in range(1600, 2401)))
        """,
    ),
    case(
        "countdown_and_weekday_counts",
        """
        from datetime import date, timedelta
        from collections import Counter
        start, end = date(2024, 3, 1), date(2024, 5, 31)
        counts = Counter((start + timedelta(days=i)).strftime("%a") for i in range((end - start).days + 1))
        print(sorted(counts.items()), (date(2024, 12, 25) - date(2024, 11, 28)).days)
        fridays_13 = [date(y, m, 13) for y in (2024, 2025) for m in range(1, 13) if date(y, m, 13).weekday() == 4]
        print(fridays_13)
        """,
    ),
    case(
        "shift_rota_cycle",
        """
        from datetime import date, timedelta
        from itertools import cycle
        staff = cycle(["Ann", "Bob", "Cy"])
        day = date(2024, 4, 1)
        rota = {}
        while day.month == 4:
            if day.weekday() < 5:
                rota[day] = next(staff)
            day += timedelta(days=1)
        print(len(rota), [f"{d:%d}:{p}" for d, p in list(rota.items())[:6]])
        from collections import Counter
        print(Counter(rota.values()))
        """,
    ),
    case(
        "time_of_day_arithmetic",
        """
        from datetime import datetime, time, date, timedelta
        opening, closing = time(9, 30), time(17, 45)
        day = date(2024, 1, 1)
        span = datetime.combine(day, closing) - datetime.combine(day, opening)
        print(span, span.seconds / 3600, opening < closing, opening.replace(hour=10), time(23, 59, 59, 999999))
        slots = []
        t = datetime.combine(day, opening)
        while t + timedelta(minutes=45) <= datetime.combine(day, closing):
            slots.append(t.strftime("%H:%M"))
            t += timedelta(minutes=45)
        print(len(slots), slots[:4], slots[-1])
        """,
    ),
    case(
        "datetime_value_returned",
        """
        from datetime import date, datetime, timedelta
        due = date(2024, 2, 28) + timedelta(days=2)
        stamp = datetime(2024, 1, 1, 12, 30)
        [due, stamp, stamp - datetime(2023, 12, 31)]
        """,
    ),
]
