-- NOT NULL cannot return while rows lack an address: those get the unspecified address 0.0.0.0.
UPDATE connection_logs SET ip = '0.0.0.0' WHERE ip IS NULL;

COMMENT ON COLUMN connection_logs.ip IS NULL;

ALTER TABLE connection_logs ALTER COLUMN ip SET NOT NULL;
