CREATE TABLE items (
    id int4 PRIMARY KEY,
    "from" text,
    "class" text NOT NULL,
    period int4range,
    spans int4multirange,
    bits bit(3),
    at point
);
