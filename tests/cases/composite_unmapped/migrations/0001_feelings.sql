CREATE TYPE feeling AS (note jsonb, since date);
CREATE TABLE people (id int4 PRIMARY KEY, feeling feeling);
