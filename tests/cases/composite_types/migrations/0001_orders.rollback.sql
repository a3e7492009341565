DROP TABLE orders;
DROP TYPE line_item;
DROP TYPE money_amount;
