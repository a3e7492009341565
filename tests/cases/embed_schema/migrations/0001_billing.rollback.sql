DROP TABLE billing.invoices;
DROP TABLE invoices;
DROP TABLE customers;
DROP SCHEMA billing;
