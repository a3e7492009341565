-- name: ListPages :many
SELECT id FROM pages WHERE id > @after;
