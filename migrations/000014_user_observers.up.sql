-- Canvas's observer links (user_observers.csv, docs/import-rules.md#user-observers):
-- an observer user observes a student user of the same root account. A
-- link is never hard-deleted: a deleted row makes it 'deleted', and an
-- active row for the same pair brings it back.
CREATE TABLE user_observers (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    observer_id     bigint NOT NULL REFERENCES users (id),
    student_id      bigint NOT NULL REFERENCES users (id),
    workflow_state  text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('active', 'deleted')),
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (observer_id, student_id),
    CHECK (observer_id <> student_id)
);
-- Partial, with a predicate only the list of a student's observers states,
-- so that an import's lookup of one link has one index to use
-- (migrations/000010_pinned_plans).
CREATE INDEX user_observers_student ON user_observers (student_id) WHERE workflow_state = 'active';
