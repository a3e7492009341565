"""Stage 1: read the query files.

Only reading happens here, so every later stage is a pure function of text and
can be tested without touching the disk.
"""

from __future__ import annotations

from pathlib import Path

from connlog.codegen.model import CodegenError, CodegenErrors, SourceFile


def load_queries(queries_dir: Path, display_root: Path) -> tuple[SourceFile, ...]:
    """Every ``*.sql`` file directly in ``queries_dir``, sorted by name.

    Paths are shown relative to ``display_root`` (usually the project root) so
    messages read ``queries/users.sql:3:1`` wherever the tool runs from.
    """
    if not queries_dir.is_dir():
        raise CodegenErrors(
            [
                CodegenError(
                    None,
                    f"query directory {str(queries_dir)!r} does not exist",
                    "pass --queries DIR or set `queries` under [tool.codegen] in pyproject.toml",
                )
            ]
        )
    # Sorted so that output and error order do not depend on the file system.
    return tuple(
        SourceFile(display_path(path, display_root), path.read_text(encoding="utf-8"))
        for path in sorted(queries_dir.glob("*.sql"))
        if path.is_file()
    )


def display_path(path: Path, root: Path) -> str:
    """``path`` as shown in messages: relative to ``root`` when inside it, else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        # Outside the root (e.g. a temporary directory in tests): the full path is clearer.
        return path.as_posix()
