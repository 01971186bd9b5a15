; fib.asm - recursive Fibonacci: prints fib(0) .. fib(N)
.const N 20

.func main 0 1
        PUSH 0
        LSTORE 0
next:   LLOAD 0
        CALL fib
        PRINT
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH N
        LE
        JNZ next
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
