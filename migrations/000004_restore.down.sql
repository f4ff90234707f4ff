DROP INDEX IF EXISTS sis_imports_one_restore;
ALTER TABLE sis_imports DROP COLUMN IF EXISTS restore_of;
ALTER TABLE sis_imports DROP COLUMN IF EXISTS kind;
