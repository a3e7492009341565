-- sqlc.embed and stars over a table outside schema public.

-- name: GetInvoice :one
SELECT sqlc.embed(billing.invoices), customers.name
FROM billing.invoices JOIN customers ON customers.id = billing.invoices.customer_id
WHERE billing.invoices.id = @id;

-- name: CustomerInvoices :many
-- An alias of a schema-qualified table, on the nullable side of a LEFT JOIN.
SELECT sqlc.embed(c), sqlc.embed(i)
FROM customers c LEFT JOIN billing.invoices i ON i.customer_id = c.id
ORDER BY c.id, i.id;

-- name: ListInvoices :many
-- A star over a schema-qualified table: its whole row, as its model.
SELECT * FROM billing.invoices ORDER BY id;

-- name: BothInvoices :many
-- Two tables of one name: the schema tells their stars apart.
SELECT billing.invoices.*, public.invoices.*
FROM billing.invoices, public.invoices
ORDER BY billing.invoices.id, public.invoices.id;

-- name: InsertInvoice :one
INSERT INTO billing.invoices (id, customer_id, amount) VALUES (@id, @customer_id, @amount)
RETURNING *;

-- name: InvoicesAndTheNext :many
-- A schema-qualified star before an embed of the same table: counted, not guessed.
SELECT billing.invoices.*, sqlc.embed(later)
FROM billing.invoices LEFT JOIN billing.invoices later ON later.id = billing.invoices.id + 1
ORDER BY billing.invoices.id;

-- name: InvoicePairs :many
-- The same table embedded twice, once by its qualified name: each field by its name.
SELECT sqlc.embed(billing.invoices), sqlc.embed(later)
FROM billing.invoices JOIN billing.invoices later ON later.id = billing.invoices.id + 1
ORDER BY billing.invoices.id;
