-- A composite with an enum attribute has no mapping (psycopg would load the label as a
-- str inside it); a table's row type has none either (sqlc.embed returns the model).

-- name: GetFeeling :one
SELECT feeling FROM people WHERE id = @id;

-- name: GetPerson :one
SELECT p FROM people p WHERE id = @id;
