CREATE TYPE money_amount AS (currency text, cents int8);
CREATE TYPE line_item AS (sku text, price money_amount, tags text[], "from" date);
CREATE TABLE orders (
    id int4 PRIMARY KEY,
    total money_amount NOT NULL,
    refund money_amount,
    items line_item[] NOT NULL
);
