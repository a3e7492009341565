CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TYPE feeling AS (mood mood, since date);
CREATE TABLE people (id int4 PRIMARY KEY, feeling feeling);
