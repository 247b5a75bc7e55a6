# ruff: noqa: F821, B018 - a sandbox program: `datetime` is preloaded, and the last
# expression is the run's value (like a REPL).
# "How many business days are there between 3 March and 28 March 2025?"
start = datetime.date(2025, 3, 3)
end = datetime.date(2025, 3, 28)
days = (end - start).days + 1
business = sum(1 for i in range(days) if (start + datetime.timedelta(days=i)).weekday() < 5)
print(f"{business} business days")
business
