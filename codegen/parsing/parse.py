"""Stage 2: split a query file into annotated statements with ``$n`` parameters.

sqlc's syntax: ``-- name: GetUser :one``, optional comment lines (the
docstring), then one statement. Parameters are found in PostgreSQL's own token
stream (``pglast.parser.scan``), so ``@x`` or ``$1`` inside strings, comments
and dollar-quoted bodies are never mistaken for parameters.

``@name`` is rewritten at the token level, *before* parsing, because the
grammar reads ``@`` as the prefix absolute-value operator: ``@id + 1`` parses
as ``@(id + 1)`` and ``@limit`` does not parse at all. After the rewrite the
statement is parsed by pglast to check syntax and count statements.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pglast import ast
from pglast.parser import ParseError, Token, parse_sql, scan

from connlog.codegen.model import (
    CodegenError,
    CodegenErrors,
    Command,
    Location,
    Parameter,
    ParsedQuery,
    SourceFile,
)
from connlog.codegen.parsing.sqlast import positional_names
from connlog.codegen.python.names import snake_case

_QUERY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # annotation text, not SQL
_COMMANDS = ", ".join(f":{c.value}" for c in Command)
_SQLC_FUNCS = ("arg", "narg", "embed", "slice")
# ``x=@id`` lexes as the operator ``=@``: catch the common ones and say so.
_GLUED_OPERATORS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">="})


class _Lines:
    """Character offset -> 1-based line and column in one file."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def at(self, offset: int) -> Location:
        line = bisect_right(self.starts, offset)
        return Location(self.path, line, offset - self.starts[line - 1] + 1)


def _text(source: str, tok: Token) -> str:
    return source[tok.start : tok.end + 1]  # scan's ``end`` is inclusive


def _is_comment(tok: Token) -> bool:
    return tok.name in ("SQL_COMMENT", "C_COMMENT")


def _is_word(tok: Token) -> bool:
    """An identifier or any keyword: ``@type`` and ``@limit`` are fine parameter names."""
    return tok.name == "IDENT" or tok.kind != "NO_KEYWORD"


def _word(text: str) -> str:
    """An identifier or string token's value, quotes removed."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text


@dataclass(frozen=True, slots=True)
class _Edit:
    """Replace source characters ``start``..``end`` (exclusive) by ``text``."""

    start: int
    end: int
    text: str
    param: str | None = None  # a named parameter's name as written: ``text`` + $n + ``after``
    after: str = ""
    narg: bool = False
    embed: str | None = None


@dataclass(frozen=True, slots=True)
class _Block:
    annotation: Token
    body: tuple[Token, ...]


def parse_file(source: SourceFile) -> tuple[ParsedQuery, ...]:
    """The annotated queries of one file; every problem in it raised together."""
    queries, errors = parse_queries(source)
    if errors:
        raise CodegenErrors(list(errors))
    return queries


def parse_queries(source: SourceFile) -> tuple[tuple[ParsedQuery, ...], tuple[CodegenError, ...]]:
    """Every query of one file that parses, and every problem of the others.

    One broken query never hides the rest: each annotated block is parsed on its
    own. A string or comment left open swallows the rest of the file, so then the
    queries before the block it starts in are still read.
    """
    lines = _Lines(source.path, source.text)
    errors: list[CodegenError] = []
    tokens: Sequence[Token]
    try:
        tokens = scan(source.text)
    except ParseError as exc:
        index = _error_index(exc, source.text)
        errors.append(_syntax_error(exc, lines.at(index)))
        tokens = _tokens_before(source.text, index)
    queries: list[ParsedQuery] = []
    for block in _blocks(source.text, tokens, lines, errors):
        query = _parse_block(source.text, block, lines, errors)
        if query is not None:
            queries.append(query)
    try:
        check_unique_names(queries)
    except CodegenErrors as exc:
        errors.extend(exc.errors)
    return tuple(queries), tuple(errors)


_ANNOTATION_LINE = re.compile(r"^[ \t]*(--|/\*)[ \t]*name:", re.MULTILINE)


def _tokens_before(text: str, index: int) -> Sequence[Token]:
    """The tokens of the whole annotated blocks before the one a lexer error at ``index`` is in.

    The lexer itself finds the annotations again in that prefix; the pattern only
    picks where to cut, and a cut that still does not scan gives no tokens.
    """
    starts = [m.start() for m in _ANNOTATION_LINE.finditer(text, 0, index)]
    if not starts:
        return []
    try:
        return scan(text[: starts[-1]])
    except ParseError:
        return []


def check_unique_names(queries: Iterable[ParsedQuery]) -> None:
    """Raise when two queries would generate the same Python function (in any files)."""
    seen: dict[str, ParsedQuery] = {}
    errors: list[CodegenError] = []
    for query in queries:
        key = snake_case(query.name)
        first = seen.setdefault(key, query)
        if first is not query:
            same = "" if first.name == query.name else f" (both become {key!r})"
            errors.append(
                CodegenError(
                    query.location,
                    f"duplicate query name {query.name!r}{same}",
                    f"{first.name!r} is already defined at {first.location}; rename one of them",
                )
            )
    if errors:
        raise CodegenErrors(errors)


def _comment_text(source: str, tok: Token) -> str:
    """A comment's text without its markers: ``-- x`` and ``/* x */`` -> `` x ``."""
    text = _text(source, tok)
    return text[2:-2] if tok.name == "C_COMMENT" else text[2:]


def _is_annotation(source: str, tok: Token) -> bool:
    """``-- name: GetThing :one``, or the same in a block comment ``/* name: ... */``."""
    return _is_comment(tok) and _comment_text(source, tok).lstrip().startswith("name:")


def _blocks(
    source: str, tokens: Sequence[Token], lines: _Lines, errors: list[CodegenError]
) -> list[_Block]:
    blocks: list[_Block] = []
    annotation: Token | None = None
    body: list[Token] = []
    for tok in tokens:
        if _is_annotation(source, tok):
            if annotation is not None:
                blocks.append(_Block(annotation, tuple(body)))
            annotation, body = tok, []
        elif annotation is None:
            if not _is_comment(tok) and tok.name != "ASCII_59" and not errors:
                errors.append(
                    CodegenError(
                        lines.at(tok.start),
                        "statement without a `-- name:` annotation",
                        "put `-- name: QueryName :many` (or :one, :exec, :execrows) on the line "
                        "before it",
                    )
                )
        else:
            body.append(tok)
    if annotation is not None:
        blocks.append(_Block(annotation, tuple(body)))
    return blocks


def _annotation(
    source: str, tok: Token, lines: _Lines, errors: list[CodegenError]
) -> tuple[str, Command] | None:
    """``-- name: GetUser :one`` -> ("GetUser", Command.ONE)."""
    where = lines.at(tok.start)
    first_line = _comment_text(source, tok).strip().split("\n", 1)[0]
    words = first_line.removeprefix("name:").split()
    usage = "write `-- name: QueryName :command`, e.g. `-- name: GetUser :one`"
    if not words:
        errors.append(CodegenError(where, "annotation without a query name", usage))
        return None
    name, rest = words[0], words[1:]
    ok = True
    if not _QUERY_NAME.match(name):
        errors.append(
            CodegenError(
                where,
                f"invalid query name {name!r}",
                "use a CamelCase identifier (letters, digits and underscores, starting with a "
                "letter), e.g. GetUser",
            )
        )
        ok = False
    if not rest or not rest[0].startswith(":"):
        errors.append(
            CodegenError(where, f"query {name!r} has no command", f"add one of {_COMMANDS}")
        )
        return None
    if rest[0] == ":execlastid":
        # MySQL's LAST_INSERT_ID; PostgreSQL returns what the statement says it returns.
        errors.append(
            CodegenError(
                lines.at(tok.start + _text(source, tok).index(":execlastid")),
                f"query {name!r}: PostgreSQL has no last insert id, so :execlastid is not "
                "supported",
                "add `RETURNING id` to the statement and use :one, which returns the new id",
            )
        )
        return None
    try:
        command = Command(rest[0][1:])
    except ValueError:
        errors.append(
            CodegenError(
                where, f"unknown command {rest[0]!r} for query {name!r}", f"use one of {_COMMANDS}"
            )
        )
        return None
    if len(rest) > 1:
        errors.append(
            CodegenError(where, f"unexpected {' '.join(rest[1:])!r} after the command", usage)
        )
        return None
    return (name, command) if ok else None


_FILTERS: Final = "filters:"
_PARAMS: Final = "params:"
_PARAM_ROWS: Final = "rows"  # ``-- params: rows``, the one spelling


def _filters_name(line: str, where: Location, errors: list[CodegenError]) -> str | None:
    """``filters: ConnectionLogFilters`` -> "ConnectionLogFilters" (a CamelCase class name)."""
    name = line.removeprefix(_FILTERS).strip()
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) and not keyword.iskeyword(name):
        return name
    errors.append(
        CodegenError(
            where,
            f"{name!r} is not a class name for the shared filters",
            "write `-- filters: ConnectionLogFilters` (CamelCase, letters and digits)",
        )
    )
    return None


def _param_rows(line: str, where: Location, errors: list[CodegenError]) -> bool:
    """``params: rows``: the query's array parameters come as one sequence of rows."""
    value = line.removeprefix(_PARAMS).strip()
    if value == _PARAM_ROWS:
        return True
    errors.append(
        CodegenError(
            where,
            f"unknown parameter style {value!r}",
            "write `-- params: rows` to take the array parameters as one sequence of rows",
        )
    )
    return False


def _parse_block(
    source: str, block: _Block, lines: _Lines, errors: list[CodegenError]
) -> ParsedQuery | None:
    header = _annotation(source, block.annotation, lines, errors)
    where = lines.at(block.annotation.start)
    # A block-comment annotation's lines after the first are the start of the docstring.
    doc_lines = [
        line.strip() for line in _comment_text(source, block.annotation).strip().split("\n")[1:]
    ]
    filters: str | None = None
    param_rows = False
    body = list(block.body)
    while body and _is_comment(body[0]):
        token = body.pop(0)
        text = _text(source, token)
        if not text.startswith("--"):
            continue
        line = text[2:].removeprefix(" ").rstrip()
        if line.startswith(_FILTERS):
            filters = _filters_name(line, lines.at(token.start), errors)
        elif line.startswith(_PARAMS):
            param_rows = _param_rows(line, lines.at(token.start), errors)
        else:
            doc_lines.append(line)
    while body and (body[-1].name == "ASCII_59" or _is_comment(body[-1])):
        body.pop()  # the terminating ``;`` and comments after it are not part of the query
    if not body:
        errors.append(
            CodegenError(
                where,
                "annotation without a statement",
                "write the query's SQL below the annotation, or remove the annotation",
            )
        )
        return None
    n_errors = len(errors)
    edits = _edits(source, body, lines, errors)
    if header is None or len(errors) > n_errors:
        return None
    name, command = header
    # Named parameters are numbered after the positional ones, which keep their $n.
    first_named = 1 + max((int(_text(source, t)[1:]) for t in body if t.name == "PARAM"), default=0)
    sql, origins = _rewrite(source, body[0].start, body[-1].end + 1, edits, lines, first_named)
    query = ParsedQuery(
        name=name,
        command=command,
        doc="\n".join(doc_lines).strip("\n"),
        sql=sql,
        params=(),
        location=where,
        origins=origins,
        embeds=tuple(e.embed for e in edits if e.embed is not None),
        filters=filters,
        param_rows=param_rows,
    )
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        errors.append(_syntax_error(exc, query.locate(_error_index(exc, sql))))
        return None
    if len(statements) != 1:
        second = (statements[1].stmt_location or 0) if len(statements) > 1 else 0
        errors.append(
            CodegenError(
                query.locate(second),
                f"query {name!r} has more than one statement",
                "give each statement its own `-- name:` annotation",
            )
        )
        return None
    stmt = statements[0].stmt
    assert stmt is not None, "a RawStmt always has a statement"
    params = _params(source, body, edits, stmt, lines, errors)
    if params is None:
        return None
    return dataclasses.replace(query, params=params)


def _edits(
    source: str, toks: Sequence[Token], lines: _Lines, errors: list[CodegenError]
) -> list[_Edit]:
    """The parameter and ``sqlc.embed`` rewrites of one statement, in source order."""
    edits: list[_Edit] = []
    i = 0
    while i < len(toks):
        tok, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else None
        text = _text(source, tok)
        glued = nxt is not None and nxt.start == tok.end + 1 and _is_word(nxt)
        if tok.name == "Op" and text == "@" and nxt is not None and glued:
            name = _word(_text(source, nxt))
            edits.append(_Edit(tok.start, nxt.end + 1, "", param=name))
            i += 2
            continue
        if tok.name == "Op" and text.endswith("@") and text[:-1] in _GLUED_OPERATORS and glued:
            errors.append(
                CodegenError(
                    lines.at(tok.start),
                    f"{text!r} is read as one operator, not {text[:-1]!r} followed by a parameter",
                    f"put a space before the parameter: `{text[:-1]} @...`",
                )
            )
        if tok.name == "IDENT" and text.lower() == "sqlc":
            edit, i = _sqlc_call(source, toks, i, lines, errors)
            if edit is not None:
                edits.append(edit)
            continue
        i += 1
    return edits


def _sqlc_call(
    source: str, toks: Sequence[Token], i: int, lines: _Lines, errors: list[CodegenError]
) -> tuple[_Edit | None, int]:
    """``sqlc.arg(name)`` and friends at ``toks[i]``; returns the edit and the next index."""
    window = [_text(source, t) for t in toks[i : i + 6]]
    where = lines.at(toks[i].start)
    if len(window) < 3 or window[1] != ".":
        return None, i + 1  # a table or schema that happens to be called sqlc
    func = window[2].lower()
    qualified = [_text(source, t) for t in toks[i + 3 : i + 8]]
    if (
        func == "embed"
        and len(qualified) == 5
        and qualified[0] == "("
        and qualified[2] == "."
        and qualified[4] == ")"
        and _is_word(toks[i + 4])
        and _is_word(toks[i + 6])
    ):
        # A schema-qualified table, ``sqlc.embed(billing.invoices)``: named as written.
        schema, table = _word(qualified[1]), _word(qualified[3])
        written = f"{qualified[1]}.{qualified[3]}"
        return _Edit(
            toks[i].start, toks[i + 7].end + 1, f"{written}.*", embed=f"{schema}.{table}"
        ), i + 8
    shape_ok = (
        len(window) == 6
        and window[3] == "("
        and window[5] == ")"
        and (_is_word(toks[i + 4]) or toks[i + 4].name == "SCONST")
    )
    if func not in _SQLC_FUNCS or not shape_ok:
        errors.append(
            CodegenError(
                where,
                f"cannot read {''.join(window[:3])!r} as a sqlc macro",
                "write sqlc.arg(name), sqlc.narg(name) or sqlc.embed(table) with a single name",
            )
        )
        return None, i + 3
    name = _word(window[4])
    start, end = toks[i].start, toks[i + 5].end + 1
    if func == "slice":
        return _slice(source, toks, i, name, lines, errors)
    if func == "embed":
        return _Edit(start, end, f"{window[4]}.*", embed=name), i + 6
    return _Edit(start, end, "", param=name, narg=func == "narg"), i + 6


def _slice(
    source: str,
    toks: Sequence[Token],
    i: int,
    name: str,
    lines: _Lines,
    errors: list[CodegenError],
) -> tuple[_Edit | None, int]:
    """``x IN (sqlc.slice(ids))`` -> ``x = ANY($n)``: one array parameter, a Python list.

    ``= ANY`` of an empty array is false, so an empty list matches nothing (``IN ()``
    would be a syntax error); ``NOT IN`` becomes ``<> ALL``, true for an empty list.
    The server types ``$n`` as an array of ``x``'s type.
    """
    words = [_text(source, t).lower() for t in toks[max(i - 3, 0) : i]]
    after = _text(source, toks[i + 6]) if i + 6 < len(toks) else ""
    if len(words) < 2 or words[-2:] != ["in", "("] or after != ")":
        errors.append(
            CodegenError(
                lines.at(toks[i].start),
                f"sqlc.slice({name}) must be the only item of an IN list",
                f"write `column IN (sqlc.slice({name}))`, or use an array parameter: "
                f"`= ANY(@{name}::type[])`",
            )
        )
        return None, i + 6
    negated = len(words) == 3 and words[0] == "not"
    start = toks[i - 3 if negated else i - 2].start
    before = "<> ALL(" if negated else "= ANY("
    return _Edit(start, toks[i + 6].end + 1, before, param=name, after=")"), i + 7


def _rewrite(
    source: str, start: int, end: int, edits: Sequence[_Edit], lines: _Lines, first_number: int
) -> tuple[str, tuple[tuple[int, Location], ...]]:
    """The statement with edits applied, and where each piece of it came from.

    An origin starts each run of unchanged text and each line within it, so that
    ``ParsedQuery.locate`` can add a column offset without crossing a newline.
    Named parameters get their numbers in order of first appearance, from ``first_number``.
    """
    numbers: dict[str, int] = {}
    out: list[str] = []
    origins: list[tuple[int, Location]] = []
    length = 0

    def copy(a: int, b: int) -> None:
        nonlocal length
        run_start = a
        for pos in range(a, b):
            if pos == run_start or source[pos - 1] == "\n":
                origins.append((length + pos - a, lines.at(pos)))
        out.append(source[a:b])
        length += b - a

    pos = start
    for edit in edits:
        copy(pos, edit.start)
        text = edit.text
        if edit.param is not None:
            number = numbers.setdefault(edit.param, len(numbers) + first_number)
            text = f"{text}${number}{edit.after}"
        origins.append((length, lines.at(edit.start)))
        out.append(text)
        length += len(text)
        pos = edit.end
    copy(pos, end)
    return "".join(out), tuple(origins)


def _params(
    source: str,
    toks: Sequence[Token],
    edits: Sequence[_Edit],
    stmt: ast.Node,
    lines: _Lines,
    errors: list[CodegenError],
) -> tuple[Parameter, ...] | None:
    named = [e for e in edits if e.param is not None]
    positional = [t for t in toks if t.name == "PARAM"]
    # Positional $n (named after the column each meets) and then the named ones, as sqlc
    # allows mixing them: ``VALUES ($1, @name)``.
    numbered = _positional_params(source, positional, stmt, lines, errors)
    if numbered is None:
        return None
    taken = {p.name for p in numbered}
    return numbered + _named_params(named, lines, len(numbered) + 1, taken)


def _named_params(
    named: Sequence[_Edit], lines: _Lines, first_number: int, taken: set[str]
) -> tuple[Parameter, ...]:
    """One parameter per distinct name as written, numbered in order of first use.

    A name a positional parameter already took (``$1`` meeting column ``id`` and an
    ``@id``) gets ``_2``, ``_3``... as two ``$n`` would.
    """
    first: dict[str, _Edit] = {}
    narg: set[str] = set()
    for edit in named:
        assert edit.param is not None
        first.setdefault(edit.param, edit)
        if edit.narg:  # one sqlc.narg makes the parameter nullable everywhere
            narg.add(edit.param)
    params: list[Parameter] = []
    for number, (name, edit) in enumerate(first.items(), start=first_number):
        unique, k = name, 1
        while unique in taken:
            k += 1
            unique = f"{name}_{k}"
        taken.add(unique)
        params.append(Parameter(number, unique, name in narg, lines.at(edit.start)))
    return tuple(params)


def _positional_params(
    source: str,
    positional: Sequence[Token],
    stmt: ast.Node,
    lines: _Lines,
    errors: list[CodegenError],
) -> tuple[Parameter, ...] | None:
    first: dict[int, Token] = {}
    for tok in positional:
        first.setdefault(int(_text(source, tok)[1:]), tok)
    count = max(first, default=0)
    missing = [n for n in range(1, count + 1) if n not in first]
    if missing:
        errors.append(
            CodegenError(
                lines.at(first[count].start),
                f"${count} is used but ${missing[0]} is not",
                "number positional parameters from $1 without gaps",
            )
        )
        return None
    # Named after the column it meets, else ``param<n>``; ``_2``, ``_3``... tell apart two
    # parameters that meet same-named columns (``t.id = $1 AND u.id = $2``: id, id_2).
    columns = positional_names(stmt)
    names: list[str] = []
    for n in range(1, count + 1):
        base = columns.get(n, f"param{n}")
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return tuple(
        Parameter(n, names[n - 1], False, lines.at(first[n].start)) for n in range(1, count + 1)
    )


def _error_index(exc: ParseError, text: str) -> int:
    """pglast keeps the 0-based character index in ``args[1]``; None means end of input."""
    index = exc.args[1] if len(exc.args) > 1 else None
    return index if isinstance(index, int) else len(text)


def _syntax_error(exc: ParseError, where: Location) -> CodegenError:
    message = str(exc.args[0])
    if "\n" in message:  # an unterminated string quotes the rest of the file: its first line
        message = message.split("\n", 1)[0] + '..."'
    return CodegenError(
        where,
        f"SQL syntax error: {message}",
        "fix the statement; PostgreSQL's own parser rejected it",
    )


__all__ = ["check_unique_names", "parse_file", "parse_queries"]
