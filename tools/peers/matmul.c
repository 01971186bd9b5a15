/* matmul.c - C = A x B for N x N matrices in one array of 3 N^2 cells,
   A[i][j] = (7i + 3j) % 11 - 5, B[i][j] = (ij + 1) % 13 - 6; prints the sum
   of C and its trace, as bench_matmul.asm. */
#include "work.h"

int main(int argc, char **argv)
{
    long n = size_arg(argc, argv), nn = n * n, sum = 0, trace = 0;
    long *m = calloc(3 * nn, sizeof *m);
    if (!m)
        return 1;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            WORK();
            m[i * n + j] = (7 * i + 3 * j) % 11 - 5;
            m[nn + i * n + j] = (i * j + 1) % 13 - 6;
        }
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            long acc = 0;
            for (long k = 0; k < n; k++) {
                WORK();
                acc += m[i * n + k] * m[nn + k * n + j];
            }
            m[2 * nn + i * n + j] = acc;
            sum += acc;
            if (i == j)
                trace += acc;
        }
    printf("%ld\n%ld\n", sum, trace);
    REPORT();
    return 0;
}
