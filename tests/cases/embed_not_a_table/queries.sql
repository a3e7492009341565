-- name: EmbedSubquery :many
SELECT sqlc.embed(n) FROM (SELECT id FROM notes) n;
