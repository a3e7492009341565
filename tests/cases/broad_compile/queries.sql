-- Section 3 of issue 8: what sqlc compiles, we compile.

-- name: In :many
-- Python keywords and builtins as names: in_(), from_, class_.
SELECT id, "from", "class" FROM items WHERE id = ANY(@in::int4[]);

-- name: List :one
SELECT count(*) AS n FROM items;

-- name: Touch :execresult
-- Positional $n mixed with named parameters; the row count and the command status.
UPDATE items SET "class" = @class WHERE id = $1;

-- name: Present :many
-- Zero result columns: a row with no fields per matching row.
SELECT FROM items WHERE id = @id;

-- name: Shapes :many
SELECT period, spans, bits, at FROM items ORDER BY id;

-- name: AddItem :exec
INSERT INTO items (id, "class", period, spans, bits, at) VALUES (@id, @class, @period, @spans, @bits, @at);
