DROP TABLE people;
DROP TYPE feeling;
DROP TYPE mood;
