DROP TABLE people;
DROP TYPE feeling;
