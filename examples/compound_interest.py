# The question: "I save 3000 a month at 5% a year: what do I have after five years?"
# This is the program a model wrote to answer it (from the article this project grew from).
P = 3000 * 12
r = 0.05
t = 5
A = P * ((1 + r) ** t - 1) / r
print(f"五年后总额约为: {A:.2f} 元")
