"""The optimizing tier's arch-neutral representation (issue 10, first step).

`ssa.build_program(program)` turns every verified bytecode function into
SSA (`ir.Function`); `passes.optimize` runs the scalar passes;
`evaluate.run` executes the SSA with the spec's semantics, which is how the
passes are checked against the interpreter before any machine code is
generated from them. Nothing here is wired into the JIT yet: see README.md.
"""
