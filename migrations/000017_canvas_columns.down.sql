DROP INDEX courses_blueprint;
ALTER TABLE courses DROP COLUMN blueprint_course_id, DROP COLUMN friendly_name, DROP COLUMN homeroom_course,
    DROP COLUMN grade_passback_setting, DROP COLUMN course_format;
DROP TABLE term_date_overrides;
DROP INDEX terms_integration_id;
ALTER TABLE terms DROP COLUMN integration_id;
ALTER TABLE accounts DROP COLUMN integration_id;
