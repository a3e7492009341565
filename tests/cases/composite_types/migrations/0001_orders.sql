CREATE TYPE money_amount AS (currency text, cents int8);
CREATE TYPE line_item AS (sku text, price money_amount, tags text[], "from" date);
CREATE TABLE orders (
    id int4 PRIMARY KEY,
    total money_amount NOT NULL,
    refund money_amount,
    items line_item[] NOT NULL
);
-- Enum attributes: psycopg loads their labels, the generated code converts them.
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TYPE feeling AS (mood mood, moods mood[]);
CREATE TABLE people (id int4 PRIMARY KEY, feeling feeling);
