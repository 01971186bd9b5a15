; factorial.asm - n! for n = 1 .. 20 (20! is the largest that fits in int64)
.const N 20

.func main 0 1
        PUSH 1
        LSTORE 0
next:   LLOAD 0
        CALL fact
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

.func fact 1                ; fact(n) = n <= 1 ? 1 : n * fact(n-1)
        LLOAD 0
        PUSH 1
        GT
        JNZ recurse
        PUSH 1
        RET
recurse:
        LLOAD 0
        LLOAD 0
        PUSH 1
        SUB
        CALL fact
        MUL
        RET
.end
