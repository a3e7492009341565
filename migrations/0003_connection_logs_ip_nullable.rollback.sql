-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- NOT NULL cannot return while rows lack an address: those get the unspecified address 0.0.0.0.
UPDATE connection_logs SET ip = '0.0.0.0' WHERE ip IS NULL;

COMMENT ON COLUMN connection_logs.ip IS NULL;

-- squawk-ignore adding-not-nullable-field -- restores 0002's constraint; the UPDATE above made it hold, and a rollback may hold the lock for the scan
ALTER TABLE connection_logs ALTER COLUMN ip SET NOT NULL;
