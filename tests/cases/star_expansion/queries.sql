-- Every star over a table becomes its columns by name; stars over CTEs, subqueries,
-- VALUES and functions with column names stay (their columns are the query's own).

-- name: AllUsers :many
SELECT * FROM "user" ORDER BY id;

-- name: UsersWithTeams :many
SELECT u.*, t.name AS team_name
FROM "user" u JOIN teams t ON t.id = u.team_id
ORDER BY u.id;

-- name: EverythingJoined :many
SELECT *
FROM teams
JOIN "user" ON "user".team_id = teams.id
ORDER BY "user".id;

-- name: RecentTeams :many
WITH recent AS (
    SELECT * FROM teams WHERE id > @after
)
SELECT recent.*, pair.*
FROM recent, (VALUES (1, 'one')) AS pair (n, label)
ORDER BY recent.id;

-- name: RenameTeam :one
UPDATE teams SET name = @name WHERE id = @id
RETURNING *;

-- name: ExistsQualified :one
SELECT EXISTS (SELECT public.teams.* FROM public.teams WHERE id = @id) AS found;
