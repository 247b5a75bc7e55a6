"""Using restricted_exec from Python: run, compile once / run many, inputs, errors."""

import restricted_exec
from restricted_exec import Policy

result = restricted_exec.run("print(sum(x * x for x in range(10)))")
print(result.status, result.stdout.strip())

program = restricted_exec.compile_program(
    "balance = principal\nfor year in range(years):\n    balance *= 1 + rate\nround(balance, 2)\n"
)
for rate in (0.03, 0.05):
    outcome = program.run(inputs={"principal": 1000, "rate": rate, "years": 10})
    print(rate, outcome.value)

refused = restricted_exec.run("import os\nos.system('id')")
print(refused.status, "-", refused.error.message if refused.error else "")

slow = restricted_exec.run("while True: pass", policy=Policy(timeout_s=0.2))
print(slow.status, slow.timeout_kind)
