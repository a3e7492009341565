DROP TABLE "user";
DROP TABLE teams;
