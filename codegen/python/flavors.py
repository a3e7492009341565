"""The two renderings of one planned query module: sync, and asyncio (``aio/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Flavor:
    """The words in which the sync and the asyncio renderings of one module differ."""

    name: str  # "sync" or "aio"
    module_doc: str  # appended to the module docstring
    declares: bool  # declares the SQL constants and row classes (the sync module does)
    connection: str
    define: str
    with_: str
    await_: str
    for_: str
    raw_cursor: str
    raw_server_cursor: str
    register_composites: str  # the ``_runtime`` helper registering composite types


SYNC: Final = Flavor(
    name="sync",
    module_doc="",
    declares=True,
    connection="psycopg.Connection[object]",
    define="def",
    with_="with",
    await_="",
    for_="for",
    raw_cursor="psycopg.RawCursor",
    raw_server_cursor="psycopg.RawServerCursor",
    register_composites="_register_composites",
)
AIO: Final = Flavor(
    name="aio",
    module_doc=", for asyncio",
    declares=False,
    connection="psycopg.AsyncConnection[object]",
    define="async def",
    with_="async with",
    await_="await ",
    for_="async for",
    raw_cursor="psycopg.AsyncRawCursor",
    raw_server_cursor="psycopg.AsyncRawServerCursor",
    register_composites="_register_composites_async",
)
