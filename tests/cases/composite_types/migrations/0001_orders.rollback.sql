DROP TABLE people;
DROP TYPE feeling;
DROP TYPE mood;
DROP TABLE orders;
DROP TYPE line_item;
DROP TYPE money_amount;
