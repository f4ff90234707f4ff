ALTER TABLE users DROP COLUMN sis_modified_at;
ALTER TABLE sections DROP COLUMN sis_modified_at;
ALTER TABLE courses DROP COLUMN sis_modified_at;
ALTER TABLE terms DROP COLUMN sis_modified_at;
ALTER TABLE accounts DROP COLUMN sis_modified_at;
