-- name: CreateAuthor :one
INSERT INTO authors (name, bio) VALUES (@name, @bio) RETURNING *;

-- name: AddBook :one
INSERT INTO books (author_id, title, genre) VALUES (@author_id, @title, @genre)
RETURNING id;

-- name: AuthorsWithBooks :many
-- Every author, with their books' titles when they have any.
SELECT a.id, a.name, b.title, b.genre
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
ORDER BY a.id, b.id;

-- name: GetAuthor :one
SELECT * FROM authors WHERE id = @id;

-- name: CountBooks :one
SELECT count(*) AS total, max(title) AS last_title FROM books;
