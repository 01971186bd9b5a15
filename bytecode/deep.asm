; deep.asm - recursion 900,000 calls deep: depth(n) = n == 0 ? 0 : 1 + depth(n - 1)
; needs --max-call-depth 1000000 (the default of 10,000 frames ends in `call stack overflow`)
.const N 900000

.func main 0 0
        PUSH N
        CALL depth
        PRINT                   ; 900000
        HALT
.end

.func depth 1 0
        LLOAD 0
        JZ bottom
        LLOAD 0
        PUSH 1
        SUB
        CALL depth
        PUSH 1
        ADD
        RET
bottom: PUSH 0
        RET
.end
