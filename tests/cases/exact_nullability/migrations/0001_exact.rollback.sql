DROP FUNCTION lower(integer);
DROP FUNCTION label(text, text);
DROP FUNCTION twice(int4);
DROP AGGREGATE total(numeric);
DROP VIEW reachable_handles;
DROP VIEW reachable;
DROP TABLE payments;
DROP TABLE accounts;
