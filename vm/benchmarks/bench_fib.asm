; bench_fib.asm - benchmark: recursive fib(N), about 3 * 10^7 calls; prints it
.const N 35

.func main
        PUSH N
        CALL fib
        PRINT               ; fib(35) = 9227465
        HALT
.end

.func fib 1                 ; fib(n) = n < 2 ? n : fib(n-1) + fib(n-2)
        LLOAD 0
        PUSH 2
        LT
        JZ recurse
        LLOAD 0
        RET
recurse:
        LLOAD 0
        PUSH 1
        SUB
        CALL fib
        LLOAD 0
        PUSH 2
        SUB
        CALL fib
        ADD
        RET
.end
