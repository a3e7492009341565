DROP TABLE books;
DROP TABLE authors;
DROP TYPE genre;
