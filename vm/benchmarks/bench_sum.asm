; bench_sum.asm - benchmark: the sum loop of sum.asm, N times; prints the sum
.const N 10000000
.memory 16
.const SUM 0
.const I   1

.func main
        PUSH 0
        STORE SUM
        PUSH N
        STORE I
loop:   LOAD SUM
        LOAD I
        ADD
        STORE SUM
        LOAD I
        PUSH 1
        SUB
        DUP
        STORE I
        JNZ loop
        LOAD SUM
        PRINT               ; N (N + 1) / 2
        HALT
.end
