-- name: InsertLists :one
-- Array parameters may hold None elements, sent as SQL NULLs.
INSERT INTO lists (id, moods, ints, texts, times, docs)
VALUES (@id, @moods, @ints, @texts, @times, @docs)
RETURNING *;

-- name: GetLists :one
SELECT * FROM lists WHERE id = @id;

-- name: SetLists :batchexec
UPDATE lists SET moods = @moods, times = @times, docs = @docs WHERE id = @id;

-- name: FirstNullDoc :one
-- The position of the first SQL NULL in docs: a JSON null is not one.
SELECT array_position(docs, NULL) AS position FROM lists WHERE id = @id;

-- name: AggregateLists :one
-- array_agg of a NOT NULL column holds no NULL element: list[int]. Aggregating an
-- array column aggregates its elements, NULLs included.
SELECT array_agg(id ORDER BY id) AS ids, array_agg(moods) AS moods FROM lists;
