CREATE TABLE teams (
    id int8 PRIMARY KEY,
    name text NOT NULL
);

-- A reserved word and a mixed-case name: both must be quoted where they qualify a column.
CREATE TABLE "user" (
    id int8 PRIMARY KEY,
    team_id int8 NOT NULL REFERENCES teams (id),
    "Nick Name" text,
    "order" int4 NOT NULL DEFAULT 0
);
