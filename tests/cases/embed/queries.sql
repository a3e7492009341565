-- name: CreateAuthor :one
INSERT INTO authors (name, bio) VALUES (@name, @bio) RETURNING *;

-- name: AddBook :one
INSERT INTO books (author_id, title, genre, tags, editor_id)
VALUES (@author_id, @title, @genre, @tags, @editor_id)
RETURNING *;

-- name: GetBookWithAuthor :one
-- A book and its author: both always there.
SELECT sqlc.embed(b), sqlc.embed(a), a.name || ': ' || b.title AS label
FROM books b
JOIN authors a ON a.id = b.author_id
WHERE b.id = @id;

-- name: AuthorsAndBooks :many
-- Every author, with each of their books, or None when they have none.
SELECT a.id, sqlc.embed(books)
FROM authors a
LEFT JOIN books ON books.author_id = a.id
ORDER BY a.id, books.id;

-- name: BooksWithEditors :many
-- Self join: the author and the editor are both authors, named by their aliases.
SELECT b.title, sqlc.embed(writer), sqlc.embed(editor)
FROM books b
JOIN authors writer ON writer.id = b.author_id
LEFT JOIN authors editor ON editor.id = b.editor_id
ORDER BY b.id;

-- name: OnlyEmbed :many
SELECT sqlc.embed(authors) FROM authors ORDER BY id;

-- name: AuthorsWithTheNext :many
-- The same table's columns twice: the embed is the second run, not the first.
SELECT a.*, sqlc.embed(next)
FROM authors a
LEFT JOIN authors next ON next.id = a.id + 1
ORDER BY a.id;
