-- Section 2 of issue 8: not null wherever PostgreSQL guarantees it.

-- name: Echo :one
-- A cast of a required parameter is not null; no FROM: exactly one row.
SELECT @handle::text AS handle, now() AS at;

-- name: WithEmail :many
-- WHERE x IS NOT NULL proves x.
SELECT id, email FROM accounts WHERE email IS NOT NULL;

-- name: Paid :many
-- A strict condition on the nullable side of a LEFT JOIN makes it an inner join.
SELECT a.handle, p.id AS payment_id, p.amount, p.note
FROM accounts a LEFT JOIN payments p ON p.account_id = a.id
WHERE p.amount > @minimum;

-- name: Unpaid :many
-- Without such a condition the joined side stays nullable.
SELECT a.handle, p.id AS payment_id FROM accounts a LEFT JOIN payments p ON p.account_id = a.id;

-- name: Reachable :many
-- A view is as precise as its definition, and a view on a view as well.
SELECT r.id, r.email, h.handle, h.email AS handle_email
FROM reachable r JOIN reachable_handles h ON h.handle = r.handle;

-- name: PaymentCounts :many
-- A scalar subquery that always returns one row takes its value's nullability.
SELECT a.id,
       (SELECT count(*) FROM payments p WHERE p.account_id = a.id) AS payments,
       (SELECT max(p.amount) FROM payments p WHERE p.account_id = a.id) AS largest
FROM accounts a;

-- name: Totals :one
-- A user-defined aggregate without GROUP BY: one row, even over no rows.
SELECT total(amount) AS total, count(*) AS n FROM payments;

-- name: Labels :many
-- A SQL-language function: its body, given its arguments' nullability.
SELECT twice(id) AS doubled, twice(NULL) AS nothing, label(handle, email) AS label,
       label(email, handle) AS maybe
FROM accounts;

-- name: Shadowed :many
-- lower() has a user-defined overload here: the call may mean it, so nullable.
SELECT lower(handle) AS folded FROM accounts;

-- name: NotedPayments :many
-- An inner join keeps only rows whose ON held: email and note are not null.
SELECT a.email, p.note FROM accounts a JOIN payments p ON p.note = a.email;
