-- name: SearchVector :one
SELECT to_tsvector(body) AS vector FROM notes WHERE id = @id;
