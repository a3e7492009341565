DROP VIEW reachable_handles;
DROP VIEW reachable;
DROP TABLE payments;
DROP TABLE accounts;
