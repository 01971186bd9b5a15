"""sieve.py - the sieve of Eratosthenes below N (argv[1]); prints the number
of primes and the largest."""
import sys


def main(n):
    cell, count, largest = [0] * n, 0, 0
    for i in range(2, n):
        if cell[i] == 0:
            count, largest = count + 1, i
            for m in range(i * i, n, i):
                cell[m] = 1
    print(count)
    print(largest)


main(int(sys.argv[1]))
