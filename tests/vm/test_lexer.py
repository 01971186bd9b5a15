"""The text assembler's hand-written scanners (vm/textasm.py keeps `re`
off the start-up path) against the regular expressions they implement,
on random text drawn from the characters that matter and on every line
of the repo's own .asm files."""
from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings, strategies as st

from vm.textasm import is_name, parse_int, tokenize, words

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r'[A-Za-z_.$][A-Za-z0-9_.$]*\Z')
INT = re.compile(r'([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[bB]([01]+)|([0-9]+))\Z')
TOKEN = re.compile(r'''\s*(?:("(?:[^"\\]|\\.)*"?)|('(?:[^'\\]|\\.)*'?)|[;#].*|(:)|([^\s;#'":]+))''')
PLAIN = re.compile(r'[^\s:]+|:')

# the characters each rule treats specially, a few ordinary ones, and
# Unicode blanks and digits that `str` methods and `re` could disagree on
ALPHABET = st.sampled_from(list('aZ_.$09xXbB+-;#"\':\\ \t\r\n\x0b\x0c\x1c\u00a0\u2003\u0660\u00e9'))
TEXT = st.text(ALPHABET, max_size=40)


def reference_tokens(line: str) -> list[tuple[str, int]]:
    if '"' not in line and "'" not in line:
        cut = min([line.find(c) for c in ';#' if c in line] or [len(line)])
        return [(m.group(), m.start() + 1) for m in PLAIN.finditer(line, 0, cut)]
    tokens, pos = [], 0
    while pos < len(line):
        m = TOKEN.match(line, pos)
        if m is None or m.lastindex is None:
            break
        tokens.append((m.group(m.lastindex), m.start(m.lastindex) + 1))
        pos = m.end()
    return tokens


def reference_int(tok: str):
    m = INT.match(tok)
    if not m:
        return 'none'
    sign, hexd, bind, dec = m.groups()
    value = int(hexd, 16) if hexd else int(bind, 2) if bind else int(dec)
    return -value if sign == '-' else value


@settings(max_examples=3000, deadline=None)
@given(TEXT)
def test_tokens_match_the_regular_expression(line):
    want = reference_tokens(line)
    assert tokenize(line) == want
    assert words(line) == [tok for tok, _ in want]


@settings(max_examples=2000, deadline=None)
@given(TEXT)
def test_names_and_numbers_match_the_regular_expressions(tok):
    assert is_name(tok) == bool(NAME.match(tok))
    got = parse_int(tok)
    if tok[:1] != "'":
        assert (got if got is not None else 'none') == reference_int(tok)


def test_every_line_of_the_repo_asm_files():
    lines = [line for path in sorted(ROOT.glob('**/*.asm')) if '.venv' not in path.parts
             for line in path.read_text(errors='replace').splitlines()]
    assert len(lines) > 500
    for line in lines:
        assert tokenize(line) == reference_tokens(line), line
        assert words(line) == [tok for tok, _ in reference_tokens(line)], line


def test_edges_spelled_out():
    assert tokenize('PUSH 1 ; c') == [('PUSH', 1), ('1', 6)]
    assert tokenize(".data 0 'a' \"b\\\"c\" x:y") == [
        ('.data', 1), ('0', 7), ("'a'", 9), ('"b\\"c"', 13), ('x', 20), (':', 21), ('y', 22)]
    assert tokenize('"open') == [('"open', 1)]
    assert tokenize('"ends in \\') == [('"ends in ', 1), ('\\', 10)]
    assert parse_int('0x') is None and parse_int('-0b101') == -5 and parse_int('\u0660') is None
    assert not is_name('') and not is_name('9a') and is_name('$x.y_9')
