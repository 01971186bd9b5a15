/* collatz.c - the start below LIMIT with the longest Collatz chain, with
   % 2 and / 2 as the algorithm is written (tools/peers/collatz.asm too);
   prints the start and its number of steps. */
#include "work.h"

static long steps(long n)
{
    long count = 0;
    while (n != 1) {
        WORK();
        n = n % 2 == 0 ? n / 2 : 3 * n + 1;
        count++;
    }
    return count;
}

int main(int argc, char **argv)
{
    long limit = size_arg(argc, argv), best = 0, best_steps = 0;
    for (long start = 1; start < limit; start++) {
        WORK();
        long s = steps(start);
        if (s > best_steps) {
            best_steps = s;
            best = start;
        }
    }
    printf("%ld\n%ld\n", best, best_steps);
    REPORT();
    return 0;
}
