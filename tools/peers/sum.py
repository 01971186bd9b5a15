"""sum.py - N + (N-1) + ... + 1, counting down; the size is argv[1]."""
import sys


def main(n):
    total, i = 0, n
    while i != 0:
        total += i
        i -= 1
    print(total)


main(int(sys.argv[1]))
