"""`record`: the part of `dataclasses` the start-up path uses (fields with
defaults or default factories, __init__, __eq__, __repr__, frozen and
hashable records, `replace`), without its import.

Why: `dataclasses` imports `inspect`, which brings in ast, dis, tokenize
and more; on this project's machines that alone is about 1.5x a bare
`python -c pass`, and `jitvm run` of a small program must stay within 2x
(docs/bytecode.md, "Start-up and Ctrl-C"). Modules that only load once
the JIT is working (backends, the code cache) keep using `dataclasses`."""
from __future__ import annotations

MISSING = object()


class Field:
    """A field's default (or default factory) and whether it is compared
    and shown: `x: list = field(default_factory=list, compare=False)`."""
    __slots__ = ('default', 'factory', 'compare', 'repr')

    def __init__(self, default=MISSING, factory=None, compare=True, repr=True):
        self.default, self.factory, self.compare, self.repr = default, factory, compare, repr


def field(*, default=MISSING, default_factory=None, compare: bool = True,
          repr: bool = True) -> Field:
    return Field(default, default_factory, compare, repr)


class FrozenError(AttributeError):
    """An assignment to a field of a frozen record."""


def record(cls=None, *, frozen: bool = False):
    """Make cls a record of the fields it annotates, in order."""
    def make(cls):
        names = [n for n in cls.__dict__.get('__annotations__', {}) if not n.startswith('__')]
        fields = {}
        for name in names:
            value = cls.__dict__.get(name, MISSING)
            fields[name] = value if isinstance(value, Field) else Field(value)
            if isinstance(value, Field):
                if value.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value.default)
        _add_init(cls, fields, frozen)
        compared = tuple(n for n, f in fields.items() if f.compare)
        shown = tuple(n for n, f in fields.items() if f.repr)
        cls.__record_fields__ = tuple(names)

        def __eq__(self, other):
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in compared)

        def __repr__(self):
            inner = ', '.join(f'{n}={getattr(self, n)!r}' for n in shown)
            return f'{type(self).__qualname__}({inner})'

        def replace(self, **changes):
            """A copy with some fields changed (dataclasses.replace)."""
            values = {n: getattr(self, n) for n in names}
            unknown = set(changes) - set(values)
            if unknown:
                raise TypeError(f'{type(self).__name__} has no field {sorted(unknown)[0]!r}')
            values.update(changes)
            return type(self)(**values)

        cls.__eq__, cls.__repr__, cls.replace = __eq__, __repr__, replace
        if frozen:
            cls.__hash__ = lambda self: hash(tuple(getattr(self, n) for n in compared))

            def __setattr__(self, name, value):
                raise FrozenError(f'cannot assign to field {name!r}')
            cls.__setattr__ = __setattr__
            cls.__delattr__ = __setattr__
        else:
            cls.__hash__ = None
        return cls
    return make if cls is None else make(cls)


def _add_init(cls, fields: dict, frozen: bool) -> None:
    """__init__(self, f1, f2=default, ...) as source, compiled once per class
    (what dataclasses does, and fast to call)."""
    params, body, env = [], [], {'MISSING': MISSING, '_set': object.__setattr__}
    for name, f in fields.items():
        if f.factory is not None:
            env[f'_factory_{name}'] = f.factory
            params.append(f'{name}=MISSING')
            value = f'_factory_{name}() if {name} is MISSING else {name}'
        elif f.default is not MISSING:
            env[f'_default_{name}'] = f.default
            params.append(f'{name}=_default_{name}')
            value = name
        else:
            params.append(name)
            value = name
        body.append(f'    _set(self, {name!r}, {value})' if frozen else f'    self.{name} = {value}')
    src = f'def __init__(self, {", ".join(params)}):\n' + ('\n'.join(body) or '    pass') + '\n'
    exec(src, env)
    init = env['__init__']
    init.__qualname__ = f'{cls.__qualname__}.__init__'
    cls.__init__ = init
