"""matmul.py - C = A x B for N x N (argv[1]) matrices in one list of 3 N^2
cells; prints the sum of C and its trace."""
import sys


def main(n):
    nn, total, trace = n * n, 0, 0
    m = [0] * (3 * nn)
    for i in range(n):
        for j in range(n):
            m[i * n + j] = (7 * i + 3 * j) % 11 - 5
            m[nn + i * n + j] = (i * j + 1) % 13 - 6
    for i in range(n):
        for j in range(n):
            acc = 0
            for k in range(n):
                acc += m[i * n + k] * m[nn + k * n + j]
            m[2 * nn + i * n + j] = acc
            total += acc
            if i == j:
                trace += acc
    print(total)
    print(trace)


main(int(sys.argv[1]))
