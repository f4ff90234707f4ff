DROP INDEX enrollments_key;
DELETE FROM enrollments WHERE role_id > 6 OR associated_user_id <> 0;
CREATE UNIQUE INDEX enrollments_key ON enrollments (course_id, user_id, role, section_id);
ALTER TABLE enrollments DROP COLUMN role_id, DROP COLUMN associated_user_id, DROP COLUMN limit_privileges_to_course_section;
DROP TABLE roles;
