"""Program and Function: what the text assembler and the .bc reader produce
and what the verifier, interpreter and JIT consume."""
from __future__ import annotations

from .record import field, record

from .opcodes import DEFAULT_MEMORY_CELLS


@record
class Function:
    name: str
    nargs: int
    nlocals: int
    code: bytes
    # bytecode offset -> source line, for the offsets that start a source line
    lines: dict[int, int] = field(default_factory=dict)

    @property
    def nslots(self) -> int:
        return self.nargs + self.nlocals

    def line_at(self, offset: int) -> int | None:
        """Source line of the instruction at offset, where known."""
        return self.lines.get(offset)


@record
class Program:
    functions: list[Function]
    entry: int = 0
    memory_cells: int = DEFAULT_MEMORY_CELLS
    data: list[tuple[int, list[int]]] = field(default_factory=list)   # (addr, values)
    source_name: str = ''
    # filled in by vm.verifier.verify: one FunctionFacts per function
    facts: list | None = field(default=None, compare=False, repr=False)

    def function_index(self, name: str) -> int | None:
        for i, f in enumerate(self.functions):
            if f.name == name:
                return i
        return None

    def initial_memory(self) -> list[int]:
        mem = [0] * self.memory_cells
        for addr, values in self.data:
            mem[addr:addr + len(values)] = values
        return mem
