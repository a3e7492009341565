"""Stage 5: lay out the planned modules as text with Jinja.

The templates only place what ``plan`` decided; ``StrictUndefined`` makes a
misspelt attribute an error instead of an empty string.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined

from connlog.codegen.fingerprint import cache_directory
from connlog.codegen.python.flavors import AIO, SYNC
from connlog.codegen.python.forms import Plan
from connlog.codegen.python.imports import Namespace
from connlog.codegen.python.names import AIO_PACKAGE


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """One generated file's name (relative to the out directory) and unformatted text."""

    name: str
    text: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("connlog.codegen.python"),
        bytecode_cache=_bytecode_cache(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


@dataclass(frozen=True, slots=True)
class Job:
    """One file to render: its name, its template, and all that the template is given."""

    name: str
    template: str
    context: tuple[tuple[str, object], ...]  # (name, value): the template's variables


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept in the user's cache: compiling costs more than rendering.

    Jinja checks each against the template's source and its own version. None when
    the cache cannot be written (Jinja would fail the run), so templates compile anew.
    """
    directory = cache_directory() / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory)) if os.access(directory, os.W_OK) else None


def jobs(plan: Plan) -> tuple[Job, ...]:
    """Every generated Python module of ``plan``: models, the shared helpers and errors
    (``_runtime.py``), the migrations check, the package's ``__init__.py`` re-exporting
    them, the query modules and their aio twins."""
    return (
        Job(
            plan.models.filename,
            "models.py.j2",
            (("module", plan.models), ("namespace", plan.namespace)),
        ),
        Job(
            plan.runtime.filename,
            "runtime.py.j2",
            (("module", plan.runtime), ("namespace", plan.runtime.namespace)),
        ),
        Job(plan.migrations.filename, "migrations.py.j2", (("module", plan.migrations),)),
        Job("__init__.py", "package_init.py.j2", ()),
        *(
            Job(
                m.filename,
                "queries.py.j2",
                (("module", m), ("flavor", SYNC), ("namespace", plan.namespace)),
            )
            for m in plan.modules
        ),
        # One plan, two renderings: the asyncio twins in their own subpackage.
        Job(f"{AIO_PACKAGE}/__init__.py", "aio_init.py.j2", ()),
        *(
            Job(
                m.aio_filename,
                "queries.py.j2",
                (("module", m), ("flavor", AIO), ("namespace", m.aio_namespace)),
            )
            for m in plan.modules
        ),
    )


def render_job(job: Job) -> RenderedFile:
    """``job``'s file; with a ``namespace``, importing exactly the names its text uses."""
    template = _environment().get_template(job.template)
    context = dict(job.context)
    namespace = context.get("namespace")
    if isinstance(namespace, Namespace):
        # Laid out once without imports, to read which names the text uses.
        context["imports"] = namespace.imports(template.render({**context, "imports": ()}))
    return RenderedFile(job.name, template.render(context))


def render(plan: Plan) -> tuple[RenderedFile, ...]:
    """Every generated Python module of ``plan`` (``jobs``), rendered."""
    return tuple(render_job(job) for job in jobs(plan))
