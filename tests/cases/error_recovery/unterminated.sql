-- name: UnknownTable :many
SELECT * FROM nosuch;

-- name: Unterminated :one
SELECT 'never closed FROM items;

-- name: Swallowed :one
SELECT 1;
