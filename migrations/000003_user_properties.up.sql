-- Custom user properties defined per root account (docs/import-rules.md#user-properties).
CREATE TABLE user_properties (
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    name            text NOT NULL,
    type            text NOT NULL CHECK (type IN ('text', 'single_choice', 'multiple_choice')),
    options         text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (root_account_id, name)
);
ALTER TABLE users ADD COLUMN properties jsonb NOT NULL DEFAULT '{}';
