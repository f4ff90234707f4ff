-- Group categories (Canvas's group_categories.csv), and the category a
-- group belongs to (groups.csv's group_category_id). A category's context
-- is an account or a course, never both: account_id or course_id is set.
-- Imports make every category; deleted is a workflow_state
-- (docs/import-rules.md#group-categories).
CREATE TABLE group_categories (
    id                    bigserial PRIMARY KEY,
    root_account_id       bigint NOT NULL REFERENCES accounts (id),
    account_id            bigint REFERENCES accounts (id),
    course_id             bigint REFERENCES courses (id),
    sis_group_category_id text,
    name                  text NOT NULL,
    workflow_state        text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('active', 'deleted')),
    last_import_id        bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((account_id IS NULL) <> (course_id IS NULL))
);
CREATE UNIQUE INDEX group_categories_sis_id ON group_categories (root_account_id, sis_group_category_id) WHERE sis_group_category_id IS NOT NULL;
CREATE INDEX group_categories_account ON group_categories (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX group_categories_course ON group_categories (course_id) WHERE course_id IS NOT NULL;

ALTER TABLE groups ADD COLUMN group_category_id bigint REFERENCES group_categories (id);
CREATE INDEX groups_group_category ON groups (group_category_id) WHERE group_category_id IS NOT NULL;
