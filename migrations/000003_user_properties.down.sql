ALTER TABLE users DROP COLUMN IF EXISTS properties;
DROP TABLE IF EXISTS user_properties;
