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
