-- Section 1 of issue 8: NOT NULL is claimed only with proof.

-- name: SameAs :many
-- A row comparison is NULL when any field is: email may be NULL.
SELECT (id, email) = (1, 'x') AS same, (id, name) = (1, 'x') AS same_name FROM people;

-- name: Bounds :many
-- lower() of an empty or unbounded range is NULL; upper_inf() never is.
SELECT lower(period) AS low, upper_inf(period) AS open, lower(name) AS folded FROM people;

-- name: Matches :many
-- substring() with a pattern is NULL when nothing matches.
SELECT substring(name from 'x+') AS xs FROM people;

-- name: AddPerson :one
-- Parameters written into nullable columns inside a data-modifying CTE accept None.
WITH ins AS (
    INSERT INTO people (id, name, email, period, tags)
    VALUES (@id, @name, @email, @period, @tags)
    RETURNING id, email
)
SELECT id, email FROM ins;

-- name: SetEmail :many
WITH up AS (UPDATE people SET email = @email WHERE id = @id RETURNING id, email)
SELECT id, email FROM up;

-- name: Tags :many
-- Array elements may be NULL whatever the column says; array_agg of a NOT NULL
-- column proves its elements.
SELECT tags, ARRAY[name] AS names, array_agg(id) OVER () AS ids FROM people;
