-- Roles (docs/api.md#roles): Canvas's built-in roles, with the same ids in
-- every account, and the custom roles an account makes, each based on one
-- of them. An enrollment names its role by id, and its key includes the
-- role and the observed user (associated_user_id, 0 for none), so a user
-- may be a TA and a custom "Lab assistant" in one section, and observe two
-- students in one course.
CREATE TABLE roles (
    id              bigserial PRIMARY KEY,
    root_account_id bigint REFERENCES accounts (id),
    account_id      bigint REFERENCES accounts (id),
    name            text NOT NULL,
    label           text NOT NULL,
    base_role_type  text NOT NULL CHECK (base_role_type IN ('StudentEnrollment', 'TeacherEnrollment', 'TaEnrollment',
                        'DesignerEnrollment', 'ObserverEnrollment', 'AccountMembership')),
    workflow_state  text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('built_in', 'active', 'inactive', 'deleted')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((workflow_state = 'built_in') = (root_account_id IS NULL))
);
INSERT INTO roles (id, name, label, base_role_type, workflow_state) VALUES
    (1, 'StudentEnrollment', 'Student', 'StudentEnrollment', 'built_in'),
    (2, 'TeacherEnrollment', 'Teacher', 'TeacherEnrollment', 'built_in'),
    (3, 'TaEnrollment', 'TA', 'TaEnrollment', 'built_in'),
    (4, 'DesignerEnrollment', 'Designer', 'DesignerEnrollment', 'built_in'),
    (5, 'ObserverEnrollment', 'Observer', 'ObserverEnrollment', 'built_in'),
    (6, 'AccountAdmin', 'Account Admin', 'AccountMembership', 'built_in');
SELECT setval('roles_id_seq', 100);
-- A custom role's name is unique in its root account among the roles not
-- deleted, whatever the case, and never a built-in role's name.
CREATE UNIQUE INDEX roles_name ON roles (root_account_id, lower(name)) WHERE workflow_state <> 'deleted';

ALTER TABLE enrollments
    ADD COLUMN role_id bigint,
    ADD COLUMN associated_user_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN limit_privileges_to_course_section boolean NOT NULL DEFAULT false;
UPDATE enrollments SET role_id = CASE role WHEN 'student' THEN 1 WHEN 'teacher' THEN 2 WHEN 'ta' THEN 3
    WHEN 'designer' THEN 4 WHEN 'observer' THEN 5 END;
ALTER TABLE enrollments ALTER COLUMN role_id SET NOT NULL;
DROP INDEX enrollments_key;
CREATE UNIQUE INDEX enrollments_key ON enrollments (course_id, user_id, role_id, section_id, associated_user_id);
