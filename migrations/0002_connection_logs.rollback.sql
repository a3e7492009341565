DROP TABLE connection_logs;
DROP TYPE connection_type;
DROP TYPE connection_status;
COMMENT ON TYPE audit_action IS 'What an audited request did to its resource.';
