-- When the SIS last changed the record an import wrote an object from, as
-- the file says it (OneRoster's dateLastModified,
-- docs/formats-oneroster.md#bulk-delta-and-absent). Null when no file said.
ALTER TABLE accounts ADD COLUMN sis_modified_at timestamptz;
ALTER TABLE terms ADD COLUMN sis_modified_at timestamptz;
ALTER TABLE courses ADD COLUMN sis_modified_at timestamptz;
ALTER TABLE sections ADD COLUMN sis_modified_at timestamptz;
ALTER TABLE users ADD COLUMN sis_modified_at timestamptz;
