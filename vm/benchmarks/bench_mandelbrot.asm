; bench_mandelbrot.asm - benchmark: the Mandelbrot set with a high iteration
; cap; prints the total number of iterations over all points as a checksum
.const W 160
.const H 60
.const MAXIT 2000
.const XMIN -8602           ; -2.1 in 12-bit fixed point
.const DX 77
.const YMIN -4756
.const DY 164
.const LIMIT 16384          ; 4.0
.data 0 ' ' '.' ':' '-' '=' '+' '*' '#' '%' '@'     ; the palette, by iterations / 2

.func main 0 10             ; 0 row, 1 col, 2 cr, 3 ci, 4 zr, 5 zi, 6 zr^2, 7 zi^2, 8 it, 9 total
        PUSH 0
        LSTORE 0
row:    LLOAD 0             ; ci
        PUSH DY
        MUL
        PUSH YMIN
        ADD
        LSTORE 3
        PUSH 0
        LSTORE 1
col:    LLOAD 1             ; cr
        PUSH DX
        MUL
        PUSH XMIN
        ADD
        LSTORE 2
        PUSH 0
        DUP
        DUP
        LSTORE 4
        LSTORE 5
        LSTORE 8
iter:   LLOAD 4             ; zr^2
        DUP
        MUL
        PUSH 12
        SAR
        LSTORE 6
        LLOAD 5             ; zi^2
        DUP
        MUL
        PUSH 12
        SAR
        LSTORE 7
        LLOAD 6
        LLOAD 7
        ADD
        PUSH LIMIT
        GT
        JNZ escaped
        LLOAD 4             ; zi = 2 zr zi + ci
        LLOAD 5
        MUL
        PUSH 11
        SAR
        LLOAD 3
        ADD
        LSTORE 5
        LLOAD 6             ; zr = zr^2 - zi^2 + cr
        LLOAD 7
        SUB
        LLOAD 2
        ADD
        LSTORE 4
        LLOAD 8
        PUSH 1
        ADD
        DUP
        LSTORE 8
        PUSH MAXIT
        LT
        JNZ iter
escaped:
        LLOAD 9
        LLOAD 8
        ADD
        LSTORE 9
        LLOAD 1
        PUSH 1
        ADD
        DUP
        LSTORE 1
        PUSH W
        LT
        JNZ col
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH H
        LT
        JNZ row
        LLOAD 9
        PRINT
        HALT
.end
