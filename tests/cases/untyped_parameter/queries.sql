-- name: ListNotes :many
SELECT id, body FROM notes
WHERE @anything IS NULL OR id > 0;
