-- name: LoadEvents :copyfrom
-- Bulk load with binary COPY.
INSERT INTO events (id, at, level, source, payload, note)
VALUES (@id, @at, @level, @source, @payload, @note);

-- name: StreamEvents :iter
-- Every event at or above a level, streamed from a server-side cursor.
SELECT id, level, note FROM events WHERE level >= @min_level ORDER BY id;

-- name: StreamAll :iter
SELECT * FROM events ORDER BY id;

-- name: SetNotes :batchexec
UPDATE events SET note = @note WHERE id = @id;

-- name: GetEvents :batchone
SELECT * FROM events WHERE id = @id;

-- name: EventsBetween :batchmany
SELECT id FROM events WHERE id BETWEEN @low AND @high ORDER BY id;

-- name: EventsSince :batchmany
SELECT id FROM events WHERE at >= @since ORDER BY id LIMIT 2;

-- name: CountEvents :one
SELECT count(*) AS total FROM events;

-- name: ListAll :many
SELECT * FROM events ORDER BY id;

-- name: EventRows :many
-- params: rows
-- Each Params row, sent as one array per field and read back as a table.
SELECT e.id, e.at, e.level, e.note
FROM unnest(@id::int8[], @at::timestamptz[], @level::level[], sqlc.narg(note)::text[])
    AS e (id, at, level, note);
