"""The `jitvm.backends` entry-point group: a third-party package that
registers a Target there is found, selected by name and used to run a
program; one whose module is missing is ignored. The package is a real
dist-info directory put on sys.path, as pip would install it."""
from __future__ import annotations

import sys
import textwrap

import pytest

import backends
from vm.api import RunConfig, execute

from .tiering_support import interp

PLUGIN = textwrap.dedent('''
    """A third-party backend: the x86-64 target, counting what it compiles."""
    from backends.x86_64 import TARGET as _X86


    class CountingTarget:
        def __init__(self, inner):
            self._inner = inner
            self.compiled = []

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def compile_function(self, program, index, **options):
            self.compiled.append(program.functions[index].name)
            return self._inner.compile_function(program, index, **options)


    TARGET = CountingTarget(_X86)
''')

PROGRAM = """\
.func main 0 1
    PUSH 50
    LSTORE 0
loop:
    LLOAD 0
    CALL twice
    PRINT
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    PUSH 0
    RET
.end
.func twice 1
    LLOAD 0
    PUSH 2
    MUL
    RET
.end
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    info = tmp_path / 'jitvm_counting_backend-1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: jitvm-counting-backend\n'
                                   'Version: 1.0\n')
    (info / 'entry_points.txt').write_text('[jitvm.backends]\n'
                                           'counting = jitvm_counting_backend:TARGET\n'
                                           'missing = jitvm_no_such_module:TARGET\n')
    (tmp_path / 'jitvm_counting_backend.py').write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop('jitvm_counting_backend', None)


def test_builtin_backend_is_registered_and_picked_for_the_host():
    assert 'x86_64' in backends.available()
    if backends.host_arch() == 'x86_64':
        assert backends.select_backend('auto') is backends.load_backend('x86_64')
    assert backends.load_backend('amd64') is backends.load_backend('x86_64')   # an alias


def test_a_third_party_backend_is_found_and_runs(plugin):
    found = backends.available()
    assert {'counting', 'missing', 'x86_64'} <= set(found)
    target = backends.load_backend('counting')
    assert type(target).__name__ == 'CountingTarget' and target.name == 'x86_64'
    assert backends.select_backend('counting') is target
    got = execute(PROGRAM, RunConfig(jit=True, jit_threshold=0, backend='counting'))
    assert got.stdout == interp(PROGRAM).stdout and got.exit_code == 0
    assert target.compiled == ['main', 'twice']


def test_a_backend_whose_module_is_missing_is_an_error_when_named(plugin):
    assert backends.load_backend('missing') is None
    assert 'missing' not in dict(backends.engine_backends())
    got = execute(PROGRAM, RunConfig(jit=True, backend='missing', verbose=True))
    assert got.stdout == b''
    assert got.exit_code == 2 and "backend 'missing' has no code generator" in got.error


def test_an_unregistered_name_is_not_found():
    assert backends.load_backend('no-such-arch') is None
