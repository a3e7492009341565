"""Stage 5: lay out the planned modules as text with Jinja.

The templates only place what ``plan`` decided; ``StrictUndefined`` makes a
misspelt attribute an error instead of an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from connlog.codegen.python.plan import AIO, AIO_PACKAGE, SYNC, Plan


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """One generated file's name (relative to the out directory) and unformatted text."""

    name: str
    text: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("connlog.codegen.python"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(plan: Plan) -> tuple[RenderedFile, ...]:
    """Every generated Python module of ``plan``: models, the shared helpers and errors
    (``_runtime.py``), the migrations check, the package's ``__init__.py`` re-exporting
    them, the query modules and their aio twins."""
    env = _environment()
    files = [
        RenderedFile(
            plan.models.filename, env.get_template("models.py.j2").render(module=plan.models)
        )
    ]
    files.append(
        RenderedFile(
            plan.runtime.filename, env.get_template("runtime.py.j2").render(module=plan.runtime)
        )
    )
    files.append(
        RenderedFile(
            plan.migrations.filename,
            env.get_template("migrations.py.j2").render(module=plan.migrations),
        )
    )
    files.append(RenderedFile("__init__.py", env.get_template("package_init.py.j2").render()))
    queries = env.get_template("queries.py.j2")
    for m in plan.modules:
        files.append(
            RenderedFile(m.filename, queries.render(module=m, flavor=SYNC, imports=m.imports))
        )
    # One plan, two renderings: the asyncio twins in their own subpackage.
    files.append(
        RenderedFile(f"{AIO_PACKAGE}/__init__.py", env.get_template("aio_init.py.j2").render())
    )
    for m in plan.modules:
        files.append(
            RenderedFile(
                m.aio_filename, queries.render(module=m, flavor=AIO, imports=m.aio_imports)
            )
        )
    return tuple(files)
