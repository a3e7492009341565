-- name: AddItem :exec
INSERT INTO items (id, token, color, label) VALUES (@id, @token, @color, @label);

-- name: ItemsByIds :many
-- An empty list matches no item.
SELECT * FROM items WHERE id IN (sqlc.slice(ids)) ORDER BY id;

-- name: ItemsByTokensAndColors :many
SELECT id FROM items
WHERE token IN (sqlc.slice(tokens)) AND color IN (sqlc.slice(colors))
ORDER BY id;

-- name: ItemsNotIn :many
-- An empty list excludes nothing.
SELECT id FROM items WHERE id NOT IN (sqlc.slice(ids)) ORDER BY id;

-- name: RelabelItems :execrows
UPDATE items SET label = @label WHERE id IN (sqlc.slice(ids));
