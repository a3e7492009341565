DROP TABLE items;
DROP TYPE color;
