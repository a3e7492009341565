-- Errors only planning finds, reported in the same run as the syntax and server errors.

-- name: TwoSpellings :many
SELECT id FROM items WHERE id = @userId OR id = @user_id;

-- name: Unmapped :one
SELECT to_tsvector('simple', name) AS doc FROM items WHERE id = @id;

-- name: CopyMoods :copyfrom
INSERT INTO tagged (id, moods) VALUES (@id, @moods);

-- name: StillGood :one
SELECT count(*) AS n FROM tagged;
