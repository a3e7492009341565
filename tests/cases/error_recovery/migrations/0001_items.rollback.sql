DROP TABLE tagged;
DROP TYPE mood;
DROP TABLE items;
