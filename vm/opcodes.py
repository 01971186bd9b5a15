"""THE opcode table of the jitvm bytecode (spec section 2).

Every other module (assembler, disassembler, verifier, interpreter, JIT
lowering) reads this table; there is no second list of opcodes anywhere.
"""
from __future__ import annotations

import struct
from .record import record


@record(frozen=True)
class ImmKind:
    """How an instruction's immediate is stored and what it names."""
    name: str          # 'i64', 'addr', 'local', 'rel', 'func'
    fmt: str           # struct format, little-endian
    size: int
    lo: int
    hi: int            # inclusive range of the stored value

    def pack(self, value: int) -> bytes:
        return struct.pack(self.fmt, value)

    def unpack(self, code: bytes, at: int) -> int:
        return struct.unpack_from(self.fmt, code, at)[0]


I64 = ImmKind('i64', '<q', 8, -(1 << 63), (1 << 63) - 1)
ADDR = ImmKind('addr', '<I', 4, 0, (1 << 32) - 1)
LOCAL = ImmKind('local', '<H', 2, 0, (1 << 16) - 1)
REL = ImmKind('rel', '<i', 4, -(1 << 31), (1 << 31) - 1)
FUNC = ImmKind('func', '<H', 2, 0, (1 << 16) - 1)

# Control-flow kinds: how the verifier and the compilers follow an instruction.
NEXT = 'next'        # falls through
JUMP = 'jump'        # unconditional jump
BRANCH = 'branch'    # conditional jump or fall through
CALL = 'call'        # calls a function, then falls through
RETURN = 'return'    # leaves the frame
HALT = 'halt'        # ends the program


@record(frozen=True)
class Op:
    mnemonic: str
    code: int
    imm: ImmKind | None
    pops: int            # CALL pops the callee's nargs instead (see stack_effect)
    pushes: int
    flow: str = NEXT

    @property
    def size(self) -> int:
        return 1 + (self.imm.size if self.imm else 0)


_TABLE = [
    Op('NOP', 0x00, None, 0, 0),
    Op('PUSH', 0x01, I64, 0, 1),
    Op('POP', 0x02, None, 1, 0),
    Op('DUP', 0x03, None, 1, 2),
    Op('SWAP', 0x04, None, 2, 2),
    Op('OVER', 0x05, None, 2, 3),
    Op('ADD', 0x10, None, 2, 1),
    Op('SUB', 0x11, None, 2, 1),
    Op('MUL', 0x12, None, 2, 1),
    Op('DIV', 0x13, None, 2, 1),
    Op('MOD', 0x14, None, 2, 1),
    Op('NEG', 0x15, None, 1, 1),
    Op('AND', 0x18, None, 2, 1),
    Op('OR', 0x19, None, 2, 1),
    Op('XOR', 0x1A, None, 2, 1),
    Op('NOT', 0x1B, None, 1, 1),
    Op('SHL', 0x1C, None, 2, 1),
    Op('SHR', 0x1D, None, 2, 1),
    Op('SAR', 0x1E, None, 2, 1),
    Op('LOAD', 0x20, ADDR, 0, 1),
    Op('STORE', 0x21, ADDR, 1, 0),
    Op('LOADI', 0x22, None, 1, 1),
    Op('STOREI', 0x23, None, 2, 0),
    Op('LLOAD', 0x24, LOCAL, 0, 1),
    Op('LSTORE', 0x25, LOCAL, 1, 0),
    Op('JMP', 0x30, REL, 0, 0, JUMP),
    Op('JZ', 0x31, REL, 1, 0, BRANCH),
    Op('JNZ', 0x32, REL, 1, 0, BRANCH),
    Op('CALL', 0x40, FUNC, 0, 1, CALL),
    Op('RET', 0x41, None, 1, 0, RETURN),
    Op('EQ', 0x50, None, 2, 1),
    Op('NE', 0x51, None, 2, 1),
    Op('LT', 0x52, None, 2, 1),
    Op('LE', 0x53, None, 2, 1),
    Op('GT', 0x54, None, 2, 1),
    Op('GE', 0x55, None, 2, 1),
    Op('PRINT', 0x60, None, 1, 0),
    Op('PRINTC', 0x61, None, 1, 0),
    Op('HALT', 0xFF, None, 0, 0, HALT),
]

BY_CODE: dict[int, Op] = {op.code: op for op in _TABLE}
BY_NAME: dict[str, Op] = {op.mnemonic: op for op in _TABLE}
OPS: tuple[Op, ...] = tuple(_TABLE)

MAX_STACK = 1024
MAX_MEMORY_CELLS = 1 << 26
DEFAULT_MEMORY_CELLS = 4096
DEFAULT_MAX_CALL_DEPTH = 10000
MAX_CALL_DEPTH_LIMIT = 1_000_000


@record(frozen=True)
class Instr:
    """One decoded instruction: where it starts, what it is, its immediate."""
    offset: int
    op: Op
    arg: int | None

    @property
    def end(self) -> int:
        return self.offset + self.op.size

    @property
    def target(self) -> int:
        """Jump target (offset within the function) of JMP/JZ/JNZ."""
        return self.offset + self.arg


class DecodeError(Exception):
    """Bytes that are not an instruction: phrase is the verifier's phrase."""

    def __init__(self, phrase: str, offset: int):
        super().__init__(phrase)
        self.phrase = phrase
        self.offset = offset


def decode(code: bytes):
    """Decode a function's bytecode instruction by instruction."""
    pc, n = 0, len(code)
    while pc < n:
        op = BY_CODE.get(code[pc])
        if op is None:
            raise DecodeError('invalid opcode', pc)
        if pc + op.size > n:
            raise DecodeError('truncated instruction', pc)
        arg = op.imm.unpack(code, pc + 1) if op.imm else None
        yield Instr(pc, op, arg)
        pc += op.size


def encode(op: Op, arg: int | None = None) -> bytes:
    """Encode one instruction; arg must already be in the immediate's range."""
    if op.imm is None:
        return bytes((op.code,))
    return bytes((op.code,)) + op.imm.pack(arg)
