DROP TABLE lists;
DROP TYPE mood;
