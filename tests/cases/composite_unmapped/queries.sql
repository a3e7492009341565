-- A composite with a jsonb attribute has no mapping (psycopg would dump a dict inside it
-- unwrapped); a table's row type has none either (sqlc.embed returns the model).

-- name: GetFeeling :one
SELECT feeling FROM people WHERE id = @id;

-- name: GetPerson :one
SELECT p FROM people p WHERE id = @id;
