CREATE TYPE color AS ENUM ('red', 'green', 'blue');

CREATE TABLE items (
    id int8 PRIMARY KEY,
    token uuid NOT NULL,
    color color NOT NULL,
    label text
);
