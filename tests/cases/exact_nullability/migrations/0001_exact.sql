CREATE TABLE accounts (
    id int4 PRIMARY KEY,
    handle text NOT NULL,
    email text
);

CREATE TABLE payments (
    id int4 PRIMARY KEY,
    account_id int4 NOT NULL REFERENCES accounts (id),
    amount numeric NOT NULL,
    note text
);

-- A view's columns carry no NOT NULL: its definition says what is proven.
CREATE VIEW reachable AS SELECT id, handle, email FROM accounts WHERE email IS NOT NULL;
CREATE VIEW reachable_handles AS SELECT handle, email FROM reachable;

-- User-defined functions and aggregates are classified from pg_proc, like built-in ones.
CREATE AGGREGATE total(numeric) (SFUNC = numeric_add, STYPE = numeric);
-- SQL-language functions are analyzed through their body.
CREATE FUNCTION twice(x int4) RETURNS int4 LANGUAGE sql IMMUTABLE STRICT AS 'SELECT x * 2';
CREATE FUNCTION label(h text, e text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT h || coalesce(' <' || e || '>', '')$$;
CREATE FUNCTION lower(integer) RETURNS text LANGUAGE sql AS 'SELECT NULL::text';
