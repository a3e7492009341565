CREATE TYPE level AS ENUM ('debug', 'info', 'error');

CREATE TABLE events (
    id int8 PRIMARY KEY,
    at timestamptz NOT NULL,
    level level NOT NULL,
    source uuid NOT NULL,
    payload jsonb,
    note text
);
