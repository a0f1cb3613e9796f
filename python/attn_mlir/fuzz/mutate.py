"""Text mutations of `.mlir` inputs: each returns a new text (maybe unparsable)."""

from __future__ import annotations

import random
import re

TOKEN = re.compile(r"%[\w.$-]+|@[\w.$-]+|[\w.]+|\"[^\"\n]*\"|\S")
INTEGER = re.compile(r"(?<![\w.%#@-])-?\d+(?![\w.])")
FLOAT = re.compile(r"-?\d+\.\d*(?:e[+-]?\d+)?")
SHAPE = re.compile(r"(tensor|memref)<((?:\d+x)*)([a-z]\w*)>")
ELEMENT_TYPES = ("f32", "f16", "bf16", "f64", "i32", "i1", "i8", "i64", "index")
INTERESTING_INTS = ("0", "1", "-1", "2", "3", "7", "64", "65536", "2147483647", "-2147483648",
                    "4294967296", "9223372036854775807", "99999999999999999999")
INTERESTING_FLOATS = ("0.0", "-0.0", "1.0", "-1.0", "0.5", "1.0e+38", "-1.0e+38", "1.0e-45",
                      "0x7FC00000", "0x7F800000", "3.4028235e+38")


def _tokens(text: str) -> list[re.Match]:
    return list(TOKEN.finditer(text))


def delete_token(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    if not toks:
        return text
    t = rng.choice(toks)
    return text[:t.start()] + text[t.end():]


def duplicate_token(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    if not toks:
        return text
    t = rng.choice(toks)
    return text[:t.end()] + " " + t.group() + text[t.end():]


def swap_tokens(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    if len(toks) < 2:
        return text
    i = rng.randrange(len(toks) - 1)
    a, b = toks[i], toks[i + 1]
    return text[:a.start()] + b.group() + text[a.end():b.start()] + a.group() + text[b.end():]


def replace_token(text: str, rng: random.Random) -> str:
    """A token replaced by another token of the same text (wrong value, op or type)."""
    toks = _tokens(text)
    if len(toks) < 2:
        return text
    t, other = rng.choice(toks), rng.choice(toks)
    return text[:t.start()] + other.group() + text[t.end():]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def delete_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return "\n".join(lines)


def swap_lines(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    if len(lines) < 2:
        return text
    i = rng.randrange(len(lines) - 1)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return "\n".join(lines)


def change_integer(text: str, rng: random.Random) -> str:
    found = list(INTEGER.finditer(text))
    if not found:
        return text
    m = rng.choice(found)
    return text[:m.start()] + rng.choice(INTERESTING_INTS) + text[m.end():]


def change_float(text: str, rng: random.Random) -> str:
    found = list(FLOAT.finditer(text))
    if not found:
        return change_integer(text, rng)
    m = rng.choice(found)
    return text[:m.start()] + rng.choice(INTERESTING_FLOATS) + text[m.end():]


def change_element_type(text: str, rng: random.Random) -> str:
    """One element type replaced everywhere (a consistent module in another type)."""
    present = [t for t in ("f32", "f16", "f64", "i32", "i64", "i1") if re.search(rf"\b{t}\b", text)]
    if not present:
        return text
    old = rng.choice(present)
    new = rng.choice([t for t in ELEMENT_TYPES if t != old])
    return re.sub(rf"\b{old}\b", new, text)


def change_one_type(text: str, rng: random.Random) -> str:
    found = list(re.finditer(r"\b(f32|f16|f64|i32|i64|i1|index)\b", text))
    if not found:
        return text
    m = rng.choice(found)
    return text[:m.start()] + rng.choice(ELEMENT_TYPES) + text[m.end():]


def change_dim(text: str, rng: random.Random) -> str:
    """One static size of one shape (or of all equal shapes) set to 0, 1 or another size."""
    found = list(SHAPE.finditer(text))
    if not found:
        return text
    m = rng.choice(found)
    dims = [d for d in m.group(2).split("x") if d]
    if not dims:
        return text
    i = rng.randrange(len(dims))
    dims[i] = rng.choice(("0", "1", "2", "3", "5", "16", str(int(dims[i]) * 2)))
    new = f"{m.group(1)}<{'x'.join(dims)}x{m.group(3)}>"
    if rng.random() < 0.5:  # everywhere: keeps more modules valid
        return text.replace(m.group(0), new)
    return text[:m.start()] + new + text[m.end():]


def truncate(text: str, rng: random.Random) -> str:
    if not text:
        return text
    return text[:rng.randrange(len(text))]


def insert_garbage(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    junk = rng.choice(("{", "}", "(", ")", "<", ">", "[", "]", ",", ":", "=", "\"", "#", "^",
                       "%", "@", "!", "{-#", "#-}", "//", "\x00", "\xff", "\u00e9", "-----"))
    return text[:at] + junk + text[at:]


MUTATIONS = (delete_token, duplicate_token, swap_tokens, replace_token, delete_line,
             duplicate_line, swap_lines, change_integer, change_float, change_element_type,
             change_one_type, change_dim, truncate, insert_garbage)


def mutate(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """1-3 random mutations; returns the text and their names."""
    names = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        m = rng.choice(MUTATIONS)
        text = m(text, rng)
        names.append(m.__name__)
    return text, names
