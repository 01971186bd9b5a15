; sum.asm - the classic: add 1..100 and print 5050
.memory 16
.const SUM 0
.const I   1

.func main
        PUSH 0
        STORE SUM
        PUSH 100
        STORE I
loop:   LOAD SUM            ; SUM += I
        LOAD I
        ADD
        STORE SUM
        LOAD I              ; I -= 1, until it reaches 0
        PUSH 1
        SUB
        DUP
        STORE I
        JNZ loop
        LOAD SUM
        PRINT               ; 5050
        HALT
.end
