; bench_matmul.asm - benchmark: C = A x B for N x N matrices; prints a checksum
; A at 0, B at N*N, C at 2*N*N; A[i][j] = (7i + 3j) % 11 - 5 and
; B[i][j] = (ij + 1) % 13 - 6. Prints the sum of all of C, then its trace.
.const N 300
.memory 270000               ; at least 3 * N * N: scale it with N

.func main 0 7              ; 0 i, 1 j, 2 k, 3 N*N, 4 dot product, 5 sum, 6 trace
        PUSH N
        DUP
        MUL
        LSTORE 3
        PUSH 0
        LSTORE 0
fill_i: PUSH 0
        LSTORE 1
fill_j: LLOAD 0             ; [idx, idx]
        PUSH N
        MUL
        LLOAD 1
        ADD
        DUP
        LLOAD 0
        PUSH 7
        MUL
        LLOAD 1
        PUSH 3
        MUL
        ADD
        PUSH 11
        MOD
        PUSH 5
        SUB
        STOREI              ; A[idx] = a; [idx + N*N]
        LLOAD 3
        ADD
        LLOAD 0
        LLOAD 1
        MUL
        PUSH 1
        ADD
        PUSH 13
        MOD
        PUSH 6
        SUB
        STOREI                                          ; B[idx] = b
        LLOAD 1
        PUSH 1
        ADD
        DUP
        LSTORE 1
        PUSH N
        LT
        JNZ fill_j
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH N
        LT
        JNZ fill_i
        PUSH 0
        LSTORE 0
row:    PUSH 0
        LSTORE 1
col:    PUSH 0
        LSTORE 4
        PUSH 0
        LSTORE 2
dot:    LLOAD 4                                          ; acc += A[i][k] * B[k][j]
        LLOAD 0
        PUSH N
        MUL
        LLOAD 2
        ADD
        LOADI
        LLOAD 2
        PUSH N
        MUL
        LLOAD 1
        ADD
        LLOAD 3
        ADD
        LOADI
        MUL
        ADD
        LSTORE 4
        LLOAD 2
        PUSH 1
        ADD
        DUP
        LSTORE 2
        PUSH N
        LT
        JNZ dot
        LLOAD 0             ; C[i][j] = acc
        PUSH N
        MUL
        LLOAD 1
        ADD
        LLOAD 3
        DUP
        ADD
        ADD
        LLOAD 4
        STOREI
        LLOAD 5
        LLOAD 4
        ADD
        LSTORE 5
        LLOAD 0
        LLOAD 1
        NE
        JNZ off_diag
        LLOAD 6
        LLOAD 4
        ADD
        LSTORE 6
off_diag:
        LLOAD 1
        PUSH 1
        ADD
        DUP
        LSTORE 1
        PUSH N
        LT
        JNZ col
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH N
        LT
        JNZ row
        LLOAD 5
        PRINT
        LLOAD 6
        PRINT
        HALT
.end
