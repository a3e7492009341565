/* name: GetItem :one */
SELECT id, name FROM items WHERE id = @id;

/* name: ListItems :many
   Block-comment annotations, as sqlc reads them. */
SELECT id, name FROM items ORDER BY id;
