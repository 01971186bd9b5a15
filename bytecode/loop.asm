; loop.asm - a loop counter: prints 1 to 10, one per line
.const N 10

.func main 0 1              ; local 0: the counter
        PUSH 1
        LSTORE 0
again:  LLOAD 0
        PRINT
        LLOAD 0
        PUSH 1
        ADD
        DUP
        LSTORE 0
        PUSH N
        LE
        JNZ again
        HALT
.end
