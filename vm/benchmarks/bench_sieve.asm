; bench_sieve.asm - benchmark: the sieve of Eratosthenes over cells 0..N-1 (a cell is 1 when
; its number is composite); prints the number of primes below N and the largest
.const N 10000000
.memory 10000000                ; at least N

.func main 0 4              ; 0: i, 1: multiple, 2: count, 3: largest prime
        PUSH 2
        LSTORE 0
outer:  LLOAD 0
        LOADI
        JNZ composite
        LLOAD 2             ; i is prime
        PUSH 1
        ADD
        LSTORE 2
        LLOAD 0
        LSTORE 3
        LLOAD 0             ; strike i*i, i*i+i, ... below N
        DUP
        MUL
        LSTORE 1
strike: LLOAD 1
        PUSH N
        LT
        JZ composite
        LLOAD 1
        PUSH 1
        STOREI
        LLOAD 1
        LLOAD 0
        ADD
        LSTORE 1
        JMP strike
composite:
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH N
        LT
        JNZ outer
        LLOAD 2
        PRINT
        LLOAD 3
        PRINT
        HALT
.end
