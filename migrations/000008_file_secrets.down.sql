ALTER TABLE sis_imports DROP COLUMN IF EXISTS file_secrets;
