-- name: Merged :many
SELECT *
FROM teams JOIN "user" USING (id);

-- name: Renamed :many
SELECT t.* FROM teams AS t (team_id, team_name);

-- name: Fine :many
SELECT j.* FROM (SELECT 1 AS x) AS j;
