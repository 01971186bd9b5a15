/* sieve.c - the sieve of Eratosthenes over N 64-bit cells (the VM's cell
   width, so every engine moves the same bytes); prints the number of primes
   below N and the largest, as bench_sieve.asm. */
#include "work.h"

int main(int argc, char **argv)
{
    long n = size_arg(argc, argv), count = 0, largest = 0;
    long *cell = calloc(n, sizeof *cell);
    if (!cell)
        return 1;
    for (long i = 2; i < n; i++) {
        WORK();
        if (cell[i])
            continue;
        count++;
        largest = i;
        for (long m = i * i; m < n; m += i) {
            WORK();
            cell[m] = 1;
        }
    }
    printf("%ld\n%ld\n", count, largest);
    REPORT();
    return 0;
}
