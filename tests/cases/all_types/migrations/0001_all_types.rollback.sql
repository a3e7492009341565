DROP TABLE everything;
DROP DOMAIN positive;
DROP TYPE mood;
