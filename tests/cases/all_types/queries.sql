-- name: InsertEverything :one
-- Store one row of every mapped type.
-- The row comes back as the table's model.
INSERT INTO everything (
    id, i2, i4, i8, num, f4, f8, t, vc, ch, nm, b, tstz, ts, d, tm, iv, by,
    js, jsb, ip, net, pos, mood, moods, ints, texts, maybe
) VALUES (
    @id, @i2, @i4, @i8, @num, @f4, @f8, @t, @vc, @ch, @nm, @b, @tstz, @ts, @d, @tm, @iv, @by,
    @js, @jsb, @ip, @net, @pos, @mood, @moods, @ints, @texts, @maybe
)
RETURNING *;

-- name: GetEverything :one
SELECT * FROM everything WHERE id = @id;

-- name: ListMoods :many
SELECT id, mood, moods, jsb -> 'k' AS k FROM everything WHERE mood = ANY(@moods::mood[]) ORDER BY id;

-- name: CountByMood :one
SELECT count(*) AS total FROM everything WHERE mood = @mood;

-- name: SetMaybe :execrows
UPDATE everything SET maybe = sqlc.narg(maybe) WHERE id = ANY(@ids::uuid[]);

-- name: DeleteEverything :exec
DELETE FROM everything;
