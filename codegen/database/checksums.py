"""``migrations/migrations.sum``: a checksum per migration file, in the spirit of atlas.sum.

yoyo identifies a migration by its id alone, so it never notices when a file it already
applied is edited afterwards: databases migrated before and after the edit silently differ.
The sum file pins every migration and rollback file's sha256, plus a total over all of them.
Any edit, addition or removal then shows up as a mismatch (a failing test in CI) until
someone deliberately runs ``codegen sum``, which a reviewer sees in the diff.

Format (deterministic: files sorted by name, LF line endings)::

    # comment lines
    total sha256:<hex of the file lines below, each ending in a newline>
    0001_base_schema.rollback.sql sha256:<hex of the file's bytes>
    0001_base_schema.sql sha256:<hex>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from connlog.codegen.replace import replace_text

SUM_FILE: Final = "migrations.sum"

# yoyo reads migrations from .sql (with .rollback.sql) and .py files.
_MIGRATION_SUFFIXES: Final = (".sql", ".py")

_PREAMBLE: Final = (
    "# sha256 of every migration and rollback file; rewrite with `codegen sum`.\n"
    "# A mismatch means a migration changed after it was summed: once a migration has been\n"
    "# applied anywhere, add a new migration instead of editing it.\n"
)


@dataclass(frozen=True, slots=True)
class Sums:
    """The checksums of one migrations folder."""

    files: tuple[tuple[str, str], ...]  # (file name, "sha256:<hex>"), sorted by name

    @property
    def total(self) -> str:
        return "sha256:" + hashlib.sha256(self._file_lines().encode()).hexdigest()

    def render(self) -> str:
        return f"{_PREAMBLE}total {self.total}\n{self._file_lines()}"

    def _file_lines(self) -> str:
        return "".join(f"{name} {digest}\n" for name, digest in self.files)


class ChecksumError(ValueError):
    """The sum file is missing, malformed or out of date."""


def compute(migrations_dir: Path) -> Sums:
    """The checksums of the migration files in ``migrations_dir`` as they are now."""
    files = sorted(
        path
        for path in migrations_dir.iterdir()
        if path.is_file() and path.name.endswith(_MIGRATION_SUFFIXES)
    )
    return Sums(tuple((path.name, _sha256(path)) for path in files))


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write(migrations_dir: Path) -> Path:
    """(Re)write the sum file from the files as they are now; return its path."""
    path = migrations_dir / SUM_FILE
    replace_text(path, compute(migrations_dir).render())
    return path


def verify(migrations_dir: Path) -> None:
    """Raise ``ChecksumError`` naming every file that differs from the sum file."""
    path = migrations_dir / SUM_FILE
    if not path.is_file():
        raise ChecksumError(f"{path}: missing\nhint: create it with `./dev sum`")
    recorded_total, recorded = _parse(path)
    current = compute(migrations_dir)
    problems = _differences(dict(recorded), dict(current.files))
    if not problems and recorded_total != Sums(recorded).total:
        problems.append(f"{path}: its total does not match its own lines (edited by hand?)")
    if problems:
        raise ChecksumError(
            "\n".join(problems) + "\nhint: never edit a migration that has been applied; add a "
            "new one. If the change is intended (nothing applied it yet), review it and run "
            "`./dev sum`."
        )


def _differences(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for name in sorted(recorded.keys() | current.keys()):
        if name not in current:
            problems.append(f"{name}: listed in {SUM_FILE} but the file is gone")
        elif name not in recorded:
            problems.append(f"{name}: not in {SUM_FILE} (a new migration file?)")
        elif recorded[name] != current[name]:
            problems.append(
                f"{name}: changed since {SUM_FILE} was written "
                f"(recorded {recorded[name]}, now {current[name]})"
            )
    return problems


def _parse(path: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    total = ""
    files: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(" ")
        if len(fields) != 2 or not fields[1].startswith("sha256:"):
            raise ChecksumError(
                f"{path}:{number}: expected '<file> sha256:<hex>', got {line!r}\n"
                "hint: regenerate it with `./dev sum`"
            )
        if fields[0] == "total":
            total = fields[1]
        else:
            files.append((fields[0], fields[1]))
    return total, tuple(files)
