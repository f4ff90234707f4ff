-- The columns of Canvas's accounts.csv, terms.csv and courses.csv that
-- earlier versions ignored (docs/import-rules.md#accounts-and-terms,
-- docs/import-rules.md#courses).

-- Integration ids of accounts and terms: unique in a root account, as
-- courses' and sections' are.
ALTER TABLE accounts ADD COLUMN integration_id text;
CREATE UNIQUE INDEX accounts_integration_id ON accounts (root_account_id, integration_id) WHERE integration_id IS NOT NULL;
ALTER TABLE terms ADD COLUMN integration_id text;
CREATE UNIQUE INDEX terms_integration_id ON terms (root_account_id, integration_id) WHERE integration_id IS NOT NULL;

-- A term's dates for one enrollment type (terms.csv rows with
-- date_override_enrollment_type). A row whose dates are both empty is no
-- override: removing one clears its dates, so that a restore can put them
-- back; the API lists only overrides with a date, as Canvas does.
CREATE TABLE term_date_overrides (
    term_id         bigint NOT NULL REFERENCES terms (id),
    enrollment_type text NOT NULL CHECK (enrollment_type IN ('StudentEnrollment', 'TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment')),
    start_at        timestamptz,
    end_at          timestamptz,
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (term_id, enrollment_type)
);

-- Courses: Canvas's course_format, grade_passback_setting, homeroom_course
-- and friendly_name, and the blueprint course a course is associated with.
ALTER TABLE courses
    ADD COLUMN course_format text CHECK (course_format IN ('on_campus', 'online', 'blended')),
    ADD COLUMN grade_passback_setting text CHECK (grade_passback_setting IN ('nightly_sync', 'disabled')),
    ADD COLUMN homeroom_course boolean NOT NULL DEFAULT false,
    ADD COLUMN friendly_name text,
    ADD COLUMN blueprint_course_id bigint REFERENCES courses (id) CHECK (blueprint_course_id <> id);
CREATE INDEX courses_blueprint ON courses (blueprint_course_id) WHERE blueprint_course_id IS NOT NULL;
