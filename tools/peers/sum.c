/* sum.c - N + (N-1) + ... + 1, counting down as bench_sum.asm does. */
#include "work.h"

int main(int argc, char **argv)
{
    long n = size_arg(argc, argv), sum = 0;
    for (long i = n; i != 0; i--) {
        WORK();
        sum += i;
    }
    printf("%ld\n", sum);
    REPORT();
    return 0;
}
