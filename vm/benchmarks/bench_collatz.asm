; bench_collatz.asm - benchmark: the start below LIMIT with the longest Collatz chain:
; prints that start and its number of steps to reach 1
.const LIMIT 3000000

.func main 0 3              ; 0: start, 1: best start, 2: best steps
        PUSH 1
        LSTORE 0
next:   LLOAD 0
        CALL steps
        DUP
        LLOAD 2
        GT
        JZ notbest
        LSTORE 2
        LLOAD 0
        LSTORE 1
        JMP advance
notbest:
        POP
advance:
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH LIMIT
        LT
        JNZ next
        LLOAD 1
        PRINT
        LLOAD 2
        PRINT
        HALT
.end

.func steps 1 1             ; steps(n): n -> n/2 or 3n+1 until 1; local 1 counts
loop:   LLOAD 0
        PUSH 1
        EQ
        JNZ done
        LLOAD 0
        PUSH 1
        AND
        JZ even
        LLOAD 0
        PUSH 3
        MUL
        PUSH 1
        ADD
        LSTORE 0
        JMP count
even:   LLOAD 0
        PUSH 1
        SAR
        LSTORE 0
count:  LLOAD 1
        PUSH 1
        ADD
        LSTORE 1
        JMP loop
done:   LLOAD 1
        RET
.end
