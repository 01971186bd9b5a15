/* mandelbrot.c - 160 x 60 points, 12-bit fixed point, at most MAXIT (the
   size) iterations each; prints the total, as bench_mandelbrot.asm. */
#include "work.h"

enum { W = 160, H = 60, XMIN = -8602, DX = 77, YMIN = -4756, DY = 164, LIMIT = 16384 };

int main(int argc, char **argv)
{
    long maxit = size_arg(argc, argv), total = 0;
    for (long row = 0; row < H; row++) {
        long ci = row * DY + YMIN;
        for (long col = 0; col < W; col++) {
            long cr = col * DX + XMIN, zr = 0, zi = 0, it = 0;
            for (;;) {
                WORK();
                long zr2 = (zr * zr) >> 12, zi2 = (zi * zi) >> 12;
                if (zr2 + zi2 > LIMIT)
                    break;
                zi = ((zr * zi) >> 11) + ci;
                zr = zr2 - zi2 + cr;
                if (++it >= maxit)
                    break;
            }
            total += it;
        }
    }
    printf("%ld\n", total);
    REPORT();
    return 0;
}
