# Call-bound: ~22,000 calls of a program function (what each function's run check costs).
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


fib(20)
