/* work.h - shared by the peer C programs: the size comes from argv[1] (so
   the compiler cannot fold the run away), and a -DCOUNT build counts the
   inner-loop iterations that bench_peers.py scales reduced-size runs by. */
#include <stdio.h>
#include <stdlib.h>

#ifdef COUNT
static long work_count;
#define WORK() (work_count++)
#define REPORT() fprintf(stderr, "work %ld\n", work_count)
#else
#define WORK() ((void)0)
#define REPORT() ((void)0)
#endif

static long size_arg(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SIZE\n", argv[0]);
        exit(2);
    }
    return atol(argv[1]);
}
