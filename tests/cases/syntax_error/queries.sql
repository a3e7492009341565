-- name: GetNote :one
SELECT id, body FORM notes WHERE id = @id;
