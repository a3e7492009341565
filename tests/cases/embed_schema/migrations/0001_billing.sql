CREATE SCHEMA billing;
CREATE TABLE customers (id int4 PRIMARY KEY, name text NOT NULL);
-- A table of the same name in public: billing's is told apart by its schema.
CREATE TABLE invoices (id int4 PRIMARY KEY, note text);
CREATE TABLE billing.invoices (
    id int4 PRIMARY KEY,
    customer_id int4 NOT NULL REFERENCES customers (id),
    amount numeric NOT NULL,
    paid_at timestamptz
);
