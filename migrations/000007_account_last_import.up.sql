-- The import that last wrote an account, as for every other object: a
-- restore changes an account back only while that is still the import.
ALTER TABLE accounts ADD COLUMN last_import_id bigint;
