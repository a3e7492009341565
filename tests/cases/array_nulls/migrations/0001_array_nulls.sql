CREATE TYPE mood AS ENUM ('happy', 'sad');

CREATE TABLE lists (
    id int4 PRIMARY KEY,
    moods mood[] NOT NULL,
    ints int4[] NOT NULL,
    texts text[] NOT NULL,
    times timestamptz[] NOT NULL,
    docs jsonb[] NOT NULL
);
