CREATE TABLE people (
    id int4 PRIMARY KEY,
    name text NOT NULL,
    email text,
    period int4range NOT NULL,
    tags text[] NOT NULL
);
