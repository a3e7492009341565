-- Types sqlc compiles: bits, system identifiers, geometry, extension types. Each is its
-- text form as psycopg returns it (str), and a str parameter is parsed by the type's input.

-- name: AddShape :exec
INSERT INTO shapes (id, flags, ref, seg, ln, bx, pth, poly, circ, label, attrs, tree)
VALUES (@id, @flags, @ref, @seg, @ln, @bx, @pth, @poly, @circ, @label, @attrs, @tree);

-- name: GetShape :one
SELECT * FROM shapes WHERE id = @id;

-- name: SystemColumns :many
-- tid, xid and cid: a row's ctid, xmin and cmin; xid8: the transaction's id.
SELECT id, ctid, xmin, cmin, pg_current_xact_id() AS xact FROM shapes ORDER BY id;

-- name: ByLabel :many
-- citext compares without case.
SELECT id FROM shapes WHERE label = @label ORDER BY id;

-- name: Subtree :many
SELECT id, tree FROM shapes WHERE tree <@ @root::ltree ORDER BY id;
