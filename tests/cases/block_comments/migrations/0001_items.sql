CREATE TABLE items (id int4 PRIMARY KEY, name text NOT NULL);
