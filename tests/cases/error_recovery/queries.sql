-- One broken query never hides the others: every error of every file, in one run.

-- name: Good :many
SELECT id, name FROM items;

-- name: Broken :one
SELECT id FROM items WHERE;

-- name: UnknownColumn :one
SELECT nosuch FROM items;

-- name: AlsoGood :one
SELECT name FROM items WHERE id = @id;
