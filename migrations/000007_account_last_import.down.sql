ALTER TABLE accounts DROP COLUMN IF EXISTS last_import_id;
