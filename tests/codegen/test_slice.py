"""``IN (sqlc.slice(name))``: a list parameter; an empty list matches nothing."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Sequence

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries, import_generated

SLICE = CASES / "slice"


def test_slices_against_postgresql(compiled: Compiled, empty_db_url: str, flavor: str) -> None:
    package = compiled(SLICE)
    migrate.apply_all(empty_db_url, SLICE / "migrations")
    queries = import_generated(package, "queries")
    models = import_generated(package, "models")
    signature = inspect.signature(queries.items_by_ids)
    assert signature.parameters["ids"].annotation == Sequence[int | None]
    tokens = [uuid.uuid4() for _ in range(3)]
    colors = [models.Color.RED, models.Color.GREEN, models.Color.BLUE]
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        for n, (token, color) in enumerate(zip(tokens, colors, strict=True), start=1):
            q.add_item(id=n, token=token, color=color, label=None)
        assert [i.id for i in q.items_by_ids(ids=[3, 1, 99])] == [1, 3]
        assert q.items_by_ids(ids=[]) == []
        assert q.items_by_ids(ids=[1])[0] == models.Item(1, tokens[0], colors[0], None)
        found = q.items_by_tokens_and_colors(
            tokens=tokens[:2], colors=[models.Color.GREEN, models.Color.BLUE]
        )
        assert found == [2]
        assert q.items_by_tokens_and_colors(tokens=[], colors=colors) == []
        assert q.items_not_in(ids=[2]) == [1, 3]
        assert q.items_not_in(ids=[]) == [1, 2, 3]
        assert q.relabel_items(label="x", ids=[1, 2]) == 2
        assert q.relabel_items(label="y", ids=[]) == 0
