ALTER TABLE sections DROP COLUMN restrict_enrollments_to_section_dates;
ALTER TABLE groups DROP COLUMN sticky_fields;
ALTER TABLE sections DROP COLUMN sticky_fields;
ALTER TABLE courses DROP COLUMN sticky_fields;
ALTER TABLE term_date_overrides DROP COLUMN sticky_fields;
ALTER TABLE terms DROP COLUMN sticky_fields;
ALTER TABLE accounts DROP COLUMN sticky_fields;
