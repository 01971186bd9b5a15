/* fib.c - recursive fib(N), as bench_fib.asm. */
#include "work.h"

long fib(long n)
{
    WORK();
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    printf("%ld\n", fib(size_arg(argc, argv)));
    REPORT();
    return 0;
}
