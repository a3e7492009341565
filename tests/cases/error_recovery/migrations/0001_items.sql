CREATE TABLE items (id int4 PRIMARY KEY, name text NOT NULL);
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE tagged (id int4 PRIMARY KEY, moods mood[] NOT NULL);
