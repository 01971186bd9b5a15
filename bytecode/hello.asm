; hello.asm - hello world with PRINTC: the text is a NUL-terminated string in memory
.memory 32
.data 0 'H' 'e' 'l' 'l' 'o' ',' ' ' 'w' 'o' 'r' 'l' 'd' '!' '\n' 0

.func main 0 1              ; local 0: the address of the next character
next:   LLOAD 0
        LOADI
        DUP
        JZ done
        PRINTC
        LLOAD 0
        PUSH 1
        ADD
        LSTORE 0
        JMP next
done:   POP
        HALT
.end
