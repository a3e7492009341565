-- name: GetNote :one
SELECT id, body
FROM notes WHERE id = @id;

-- name: GetTitle :one
SELECT id,
       title
FROM notes WHERE id = @id;
