-- :execlastid has no meaning in PostgreSQL: a located error that says what to write.

-- name: AddNote :execlastid
INSERT INTO notes (body) VALUES (@body);
