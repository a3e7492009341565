DROP TABLE events;
DROP TYPE level;
