-- Courses, sections, enrollments, groups and group memberships (Canvas's
-- courses.csv, sections.csv, enrollments.csv, groups.csv,
-- group_memberships.csv). origin is 'sis' for objects an import created and
-- 'manual' for objects created through the API: removal of unlisted objects
-- never touches manual ones, and imports never change a manual group
-- (docs/import-rules.md#removing-what-the-feed-no-longer-lists, docs/import-rules.md#stickiness-and-manual-objects). Nothing is hard-deleted: deleted is a workflow_state.
CREATE TABLE courses (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    term_id         bigint REFERENCES terms (id),
    sis_course_id   text,
    integration_id  text,
    short_name      text NOT NULL,
    long_name       text NOT NULL,
    start_at        timestamptz,
    end_at          timestamptz,
    workflow_state  text NOT NULL DEFAULT 'active',
    origin          text NOT NULL DEFAULT 'sis',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX courses_sis_id ON courses (root_account_id, sis_course_id) WHERE sis_course_id IS NOT NULL;
CREATE UNIQUE INDEX courses_integration_id ON courses (root_account_id, integration_id) WHERE integration_id IS NOT NULL;
CREATE INDEX courses_account ON courses (account_id);
CREATE INDEX courses_term ON courses (term_id);

CREATE TABLE sections (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    course_id       bigint NOT NULL REFERENCES courses (id),
    sis_section_id  text,
    integration_id  text,
    name            text NOT NULL,
    start_at        timestamptz,
    end_at          timestamptz,
    workflow_state  text NOT NULL DEFAULT 'active',
    origin          text NOT NULL DEFAULT 'sis',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sections_sis_id ON sections (root_account_id, sis_section_id) WHERE sis_section_id IS NOT NULL;
CREATE INDEX sections_course ON sections (course_id);

-- An enrollment is keyed by course, section (0 when enrolled in the course
-- as a whole), user and role.
CREATE TABLE enrollments (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    course_id       bigint NOT NULL REFERENCES courses (id),
    section_id      bigint NOT NULL DEFAULT 0,
    user_id         bigint NOT NULL REFERENCES users (id),
    role            text NOT NULL CHECK (role IN ('student', 'teacher', 'ta', 'observer', 'designer')),
    start_at        timestamptz,
    end_at          timestamptz,
    workflow_state  text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('active', 'inactive', 'completed', 'deleted')),
    origin          text NOT NULL DEFAULT 'sis',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX enrollments_key ON enrollments (course_id, user_id, role, section_id);
CREATE INDEX enrollments_user ON enrollments (user_id);

CREATE TABLE groups (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    course_id       bigint REFERENCES courses (id),
    sis_group_id    text,
    name            text NOT NULL,
    workflow_state  text NOT NULL DEFAULT 'available' CHECK (workflow_state IN ('available', 'deleted')),
    origin          text NOT NULL DEFAULT 'sis',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_sis_id ON groups (root_account_id, sis_group_id) WHERE sis_group_id IS NOT NULL;
CREATE INDEX groups_account ON groups (account_id);

CREATE TABLE group_memberships (
    id              bigserial PRIMARY KEY,
    group_id        bigint NOT NULL REFERENCES groups (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    workflow_state  text NOT NULL DEFAULT 'accepted' CHECK (workflow_state IN ('accepted', 'deleted')),
    origin          text NOT NULL DEFAULT 'sis',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_memberships_user ON group_memberships (user_id);
