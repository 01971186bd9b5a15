"""mandelbrot.py - 160 x 60 points, 12-bit fixed point, at most MAXIT
(argv[1]) iterations each; prints the total."""
import sys


def main(maxit):
    total = 0
    for row in range(60):
        ci = row * 164 - 4756
        for col in range(160):
            cr, zr, zi, it = col * 77 - 8602, 0, 0, 0
            while True:
                zr2, zi2 = (zr * zr) >> 12, (zi * zi) >> 12
                if zr2 + zi2 > 16384:
                    break
                zi = ((zr * zi) >> 11) + ci
                zr = zr2 - zi2 + cr
                it += 1
                if it >= maxit:
                    break
            total += it
    print(total)


main(int(sys.argv[1]))
