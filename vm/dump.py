"""`jitvm dump`: every function compiled as the JIT would compile it, each
bytecode instruction followed by the machine code it became (Capstone's
text), the out-of-line code after the body under its own heading.

Why compile without running: compiling never executes, so any backend's
code can be read on any host (AArch64 code on an x86-64 machine). The
interleaving comes from `CompiledCode.pc_offsets` (bytecode pc -> offset
where its code starts), which the lowering records; a backend that leaves
it empty gets the bytecode and then the code, unmixed.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from .opcodes import BRANCH, DEFAULT_MAX_CALL_DEPTH, JUMP

HEX_WIDTH = 20          # columns for an instruction's bytes (x86 may need more; they spill)


@dataclass
class Style:
    """Colour through click.style, or plain text (click.echo strips colour
    anyway when stdout is not a terminal, unless --color forces it)."""
    colour: bool = False

    def _paint(self, text: str, **how) -> str:
        return click.style(text, **how) if self.colour else text

    def bytecode(self, text: str) -> str:
        return self._paint(text, fg='cyan', bold=True)

    def heading(self, text: str) -> str:
        return self._paint(text, fg='yellow', bold=True)

    def offset(self, text: str) -> str:
        return self._paint(text, fg='bright_black')

    def note(self, text: str) -> str:
        return self._paint(text, fg='green')


def compile_all(program, target, opt: int = 0):
    """[CompiledCode] for every function, as threshold 0 would compile them
    (the call-room checks chosen as for the default call depth); with opt > 0
    the optimizing tier's code where the target has one."""
    from .state import VSTACK_LIMIT, value_stack_need
    checks = value_stack_need(program, DEFAULT_MAX_CALL_DEPTH) > VSTACK_LIMIT
    optimized = getattr(target, 'compile_optimized', None) if opt > 0 else None
    codes = []
    for fidx in range(len(program.functions)):
        code = optimized(program, fidx, opt) if optimized is not None else None
        if code is None:
            try:
                code = target.compile_function(program, fidx, vstack_checks=checks, listing=True)
            except TypeError:       # a third-party backend without listings
                code = target.compile_function(program, fidx, vstack_checks=checks)
        codes.append(code)
    return codes, optimized is not None


def machine_listing(code: bytes, arch: str) -> list[tuple[int, bytes, str]]:
    """(offset, bytes, text) per machine instruction. Bytes Capstone cannot
    decode are shown as data and decoding resumes after them (one byte on
    x86-64, one 4-byte word on AArch64); an architecture asmkit does not know
    is shown as raw words."""
    import asmkit
    from asmkit.oracles.capstone import decode
    try:
        arch_mod = asmkit.load(arch)
    except asmkit.UnknownArch:
        arch_mod = None
    step = 1 if arch == 'x86_64' else 4
    rows, pos = [], 0
    while pos < len(code):
        decoded = decode(code[pos:], arch_mod, pos) if arch_mod is not None else []
        for addr, size, text in decoded:
            rows.append((addr, code[addr:addr + size], text))
        pos += sum(size for _, size, _ in decoded)
        if pos < len(code):
            raw = code[pos:pos + step]
            rows.append((pos, raw, '.byte ' + ', '.join(f'0x{b:02x}' for b in raw)))
            pos += len(raw)
    return rows


def jump_targets(facts) -> set[int]:
    return {ins.target for ins in facts.instrs
            if ins.op.flow in (JUMP, BRANCH) and ins.target in facts.at}


def function_lines(program, fidx: int, code, arch: str, style: Style) -> list[str]:
    """The listing of one compiled function."""
    from .disasm import instruction_text, name_token
    func, facts = program.functions[fidx], program.facts[fidx]
    labels = jump_targets(facts)
    head = (f'.func {name_token(func.name)} {func.nargs} {func.nlocals}: {code.ops} bytecode '
            f'instructions -> {len(code.code)} bytes')
    lines = [style.heading(head)]

    def bytecode(ins, note=''):
        out = []
        if ins.offset in labels:
            out.append(style.bytecode(f'L{ins.offset}:'))
        text = f'{ins.offset:<6}  {instruction_text(program, ins, labels)}'
        out.append(style.bytecode(text) + (style.note(f'    ; {note}') if note else ''))
        return out

    def machine(off, raw, text):
        return f'    {style.offset(f"{off:04x}")}  {raw.hex():<{HEX_WIDTH}}  {text}'

    rows = machine_listing(code.code, arch)
    if not code.pc_offsets:
        lines.append(style.note('; this backend records no per-instruction offsets: '
                                'the bytecode, then its code'))
        for ins in facts.instrs:
            lines += bytecode(ins)
        lines += [machine(*row) for row in rows]
        return lines
    # bytecode instructions in code order; those without code of their own
    # follow the instruction before them
    marks, last = [], 0
    for ins in facts.instrs:
        if ins.offset in code.pc_offsets:
            last = code.pc_offsets[ins.offset]
            marks.append((last, ins.offset, ins, ''))
        else:
            why = 'unreachable: not compiled' if ins.offset not in facts.heights else 'no code of its own'
            marks.append((last, ins.offset, ins, why))
    marks.sort(key=lambda m: (m[0], m[1]))
    ool = code.out_of_line if code.out_of_line is not None else len(code.code)
    notes = {off: f'OSR entry of the loop at {pc}' for pc, off in code.osr.items()}
    notes.update((off, f'the CALL at {site[0]} returns here') for off, site in code.return_sites.items())
    if code.entry:
        notes.setdefault(code.entry, 'entry')
    if rows and (not marks or rows[0][0] < marks[0][0]):
        lines.append(style.note('  ; prologue'))
    i = 0
    for off, raw, text in rows:
        if off >= ool and i <= len(marks):
            lines += [line for m in marks[i:] for line in bytecode(m[2], m[3])]
            i = len(marks) + 1          # the rest is out of line
            lines.append(style.heading('  ; out of line: OSR entries, the stop exit, '
                                       'trap sites and tails, cold paths'))
        while i < len(marks) and marks[i][0] <= off:
            lines += bytecode(marks[i][2], marks[i][3])
            i += 1
        if off in notes:
            lines.append(style.note(f'  ; {notes[off]}'))
        lines.append(machine(off, raw, text))
    lines += [line for m in marks[i:] for line in bytecode(m[2], m[3])]
    return lines


def dump_lines(program, target, opt: int = 0, style: Style | None = None,
               source: str = '') -> list[str]:
    """The whole listing, line by line."""
    style = style or Style()
    codes, optimized = compile_all(program, target, opt)
    tier = f'optimizing tier, opt {opt}' if optimized else 'baseline'
    if opt > 0 and not optimized:
        tier += f' (opt {opt} asked: this backend has no optimizing tier yet)'
    lines = [style.heading(f'; jitvm dump{" of " + source if source else ""}: '
                           f'{target.name} backend, {tier}')]
    for fidx, code in enumerate(codes):
        lines.append('')
        lines += function_lines(program, fidx, code, target.name, style)
    return lines


def dump(program, backend: str = 'auto', opt: int = 0, color: bool | None = None,
         source: str = '') -> None:
    """`jitvm dump`: print the listing on stdout (colour: None = on a terminal)."""
    from backends import names, select_backend
    from .errors import UsageError
    target = select_backend(backend)
    if target is None:
        raise UsageError(f'backend {backend!r} has no code generator here '
                         f'(available: {", ".join(names())})')
    if color is None:
        color = sys.stdout is not None and sys.stdout.isatty()
    for line in dump_lines(program, target, opt, Style(color), source):
        click.echo(line, color=color)
