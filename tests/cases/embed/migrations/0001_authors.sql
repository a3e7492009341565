CREATE TYPE genre AS ENUM ('fiction', 'non-fiction');

CREATE TABLE authors (
    id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    bio text
);

CREATE TABLE books (
    id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id int8 NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    genre genre NOT NULL,
    tags genre[] NOT NULL DEFAULT '{}',
    editor_id int8 REFERENCES authors (id)
);
