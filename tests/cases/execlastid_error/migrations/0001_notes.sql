CREATE TABLE notes (
    id int4 PRIMARY KEY,
    body text NOT NULL
);
