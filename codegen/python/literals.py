"""Text the generator embeds in Python source: string literals and docstrings.

Every piece of text that ends up between quotes in a generated module goes
through here, so that any text (SQL, enum labels, comment lines) reads back
unchanged: ``tests/codegen/test_literals.py`` checks it with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final


def string(text: str) -> str:
    """A Python literal of ``text``; ruff format then settles the quotes."""
    return repr(text)


def triple_quoted(text: str) -> str:
    """The body of a ``\"\"\"...\"\"\"`` literal whose value is ``text``.

    Printable text, newlines and tabs stay as written; a backslash, the third of
    three quotes in a row, a final quote (it would run into the closing ones) and
    any other character (``\\r``, NUL...) are escaped.
    """
    out: list[str] = []
    quotes = 0  # unescaped quotes just written
    for char in text:
        if char == '"':
            quotes += 1
            if quotes == 3:
                out.append('\\"')
                quotes = 0
            else:
                out.append(char)
            continue
        quotes = 0
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\t" or char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    if quotes:
        out[-1] = '\\"'
    return "".join(out)


def docstring(text: str) -> str:
    """The body of a docstring holding ``text``, to place between triple quotes."""
    return triple_quoted(text)


def pep257(text: str) -> str:
    """``text`` laid out as PEP 257 asks: a summary line, a blank line, the rest.

    The summary is the first sentence, on one line: up to the first full stop followed by a
    capital letter (``filters. With``) or ending a line. With a body, a final newline puts the
    closing quotes on a line of their own.
    """
    lines = text.strip("\n").split("\n")
    end = next((n for n, line in enumerate(lines) if line.rstrip().endswith(".")), 0)
    for n, line in enumerate(lines[: end + 1]):
        stop = _SENTENCE_END.search(line)
        if stop is not None:
            lines[n : n + 1] = [line[: stop.start() + 1], line[stop.end() :]]
            end = n
            break
    summary = " ".join(line.strip() for line in lines[: end + 1])
    body = "\n".join(lines[end + 1 :]).strip("\n")
    return f"{summary}\n\n{body}\n" if body else summary


# A full stop ending a sentence inside a line: the next one starts with a capital.
_SENTENCE_END: Final = re.compile(r"(?<=[^.\s])\.\s+(?=[A-Z])")


def sql_literal(sql: str) -> str:
    """A literal of ``sql``: triple-quoted when it spans lines and needs no escape."""
    if "\n" in sql and triple_quoted(sql) == sql:
        return '"""' + sql + '"""'
    return string(sql)


def tuple_literal(items: Sequence[str], *, quote: bool = True) -> str:
    """A Python tuple display of ``items`` (string literals when ``quote``)."""
    shown = [string(item) if quote else item for item in items]
    if len(shown) == 1:
        return f"({shown[0]},)"  # ruff explodes a call with a magic trailing comma otherwise
    return f"({', '.join(shown)})"


def quote_identifier(name: str) -> str:
    """A SQL identifier, always double-quoted (keywords, case)."""
    return '"' + name.replace('"', '""') + '"'
