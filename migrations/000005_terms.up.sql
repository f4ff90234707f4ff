-- Enrollment terms of a root account (Canvas's terms.csv).
CREATE TABLE terms (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    sis_term_id     text NOT NULL,
    name            text NOT NULL,
    start_at        timestamptz,
    end_at          timestamptz,
    workflow_state  text NOT NULL DEFAULT 'active',
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (root_account_id, sis_term_id)
);
