"""collatz.py - the start below LIMIT (argv[1]) with the longest Collatz
chain, with % 2 and // 2; prints the start and its number of steps."""
import sys


def steps(n):
    count = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        count += 1
    return count


def main(limit):
    best, best_steps = 0, 0
    for start in range(1, limit):
        s = steps(start)
        if s > best_steps:
            best, best_steps = start, s
    print(best)
    print(best_steps)


main(int(sys.argv[1]))
