-- Composite types: a frozen dataclass each in models.py, every attribute nullable.

-- name: InsertOrder :one
INSERT INTO orders (id, total, refund, items) VALUES (@id, @total, @refund, @items)
RETURNING *;

-- name: GetTotal :one
-- A NOT NULL composite column is a value, but its attributes may still be NULL.
SELECT total, refund, (total).cents AS cents FROM orders WHERE id = @id;

-- name: ListItems :many
SELECT id, items FROM orders ORDER BY id;

-- name: FindByTotal :many
SELECT id FROM orders WHERE total = @total::money_amount ORDER BY id;

-- name: MakeAmount :one
SELECT ROW(@currency::text, @cents::int8)::money_amount AS amount;

-- name: AddPerson :exec
INSERT INTO people (id, feeling) VALUES (@id, @feeling);

-- name: GetFeeling :one
SELECT feeling FROM people WHERE id = @id;
