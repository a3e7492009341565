-- Extension types: citext, hstore and ltree ship with PostgreSQL (contrib) and are trusted.
CREATE EXTENSION citext;
CREATE EXTENSION hstore;
CREATE EXTENSION ltree;

CREATE TABLE shapes (
    id int4 PRIMARY KEY,
    flags varbit NOT NULL,
    ref oid NOT NULL,
    seg lseg,
    ln line,
    bx box,
    pth path,
    poly polygon,
    circ circle,
    label citext NOT NULL,
    attrs hstore,
    tree ltree
);
