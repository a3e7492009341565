CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so');

CREATE DOMAIN positive AS int4 CHECK (VALUE > 0);

CREATE TABLE everything (
    id uuid PRIMARY KEY,
    i2 int2 NOT NULL,
    i4 int4 NOT NULL,
    i8 int8 NOT NULL,
    num numeric NOT NULL,
    f4 float4 NOT NULL,
    f8 float8 NOT NULL,
    t text NOT NULL,
    vc varchar(10) NOT NULL,
    ch char(3) NOT NULL,
    nm name NOT NULL,
    b bool NOT NULL,
    tstz timestamptz NOT NULL,
    ts timestamp NOT NULL,
    d date NOT NULL,
    tm time NOT NULL,
    iv interval NOT NULL,
    by bytea NOT NULL,
    js json NOT NULL,
    jsb jsonb NOT NULL,
    ip inet NOT NULL,
    net cidr NOT NULL,
    pos positive NOT NULL,
    mood mood NOT NULL,
    moods mood[] NOT NULL,
    ints int4[] NOT NULL,
    texts text[] NOT NULL,
    maybe text
);
