"""Readable text of the SSA, for tests, debugging and `-v` style dumps.

    b2 @14  <- b1 b5
      v7 = phi L0 [b1 v3] [b5 v12]
      v8 = chkzero v6            @19
      v9 = div v7, v8            @19
      v10 = store v9 [M0] m=v4   @20
      br v9 -> b3 b4             @25

`@N` is the bytecode offset an instruction came from (traps report it);
`m=` is the memory state a load, store or call reads.
"""
from __future__ import annotations


def format_inst(ins) -> str:
    op = ins.op
    if op == 'phi':
        pairs = ' '.join(f'[{p} {a}]' for p, a in zip(ins.block.preds, ins.args))
        return f'{ins} = phi {ins.var} {pairs}'
    parts = ', '.join(map(repr, ins.args))
    if op == 'const':
        text = f'{ins} = const {ins.imm}'
    elif op == 'param':
        text = f'{ins} = param {ins.imm}'
    elif op in ('load', 'store'):
        text = f'{ins} = {op} {parts + " " if parts else ""}[M{ins.imm}]'
    elif op == 'call':
        text = f'{ins} = call f{ins.imm}({parts})'
    elif op == 'jmp':
        text = f'jmp -> {ins.block.succs[0]}'
    elif op == 'br':
        text = f'br {parts} -> {ins.block.succs[0]} {ins.block.succs[1]}'
    elif op in ('ret', 'halt', 'print', 'printc', 'chkdepth'):
        text = f'{op} {parts}'.rstrip()
    else:
        text = f'{ins} = {op} {parts}'.rstrip()
    if ins.mem is not None:
        text += f' m={ins.mem}'
    if ins.pc is not None:
        text = f'{text:<30} @{ins.pc}'
    return text


def format_block(block) -> str:
    if block.start is not None:
        head = f'{block} @{block.start}'
    else:                               # the entry, or a block a pass added (a preheader)
        head = f'{block}' + ('' if block.preds else ' entry')
    if block.preds:
        head += '  <- ' + ' '.join(map(repr, block.preds))
    lines = [head]
    lines += ['  ' + format_inst(p) for p in block.phis]
    lines += ['  ' + format_inst(i) for i in block.insts]
    return '\n'.join(lines)


def format_function(fn) -> str:
    head = f'func {fn.name} (f{fn.index}, {fn.nargs} args, {fn.nslots} slots)'
    return '\n'.join([head] + [format_block(b) for b in fn.blocks]) + '\n'


def format_program(functions) -> str:
    return '\n'.join(format_function(f) for f in functions)
