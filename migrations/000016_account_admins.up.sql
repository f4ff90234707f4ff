-- Account admins (Canvas's admins.csv and GET /accounts/:account_id/admins,
-- docs/import-rules.md#admins): a user holding an account role on an
-- account. origin is 'sis' for an admin an import made, 'manual' for one
-- made otherwise: a deleted row removes only SIS-managed admins, as on
-- Canvas. Nothing is hard-deleted: deleted is a workflow_state.
CREATE TABLE account_admins (
    id              bigserial PRIMARY KEY,
    root_account_id bigint NOT NULL REFERENCES accounts (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    role_id         bigint NOT NULL REFERENCES roles (id),
    workflow_state  text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('active', 'deleted')),
    origin          text NOT NULL DEFAULT 'sis' CHECK (origin IN ('sis', 'manual')),
    last_import_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, user_id, role_id)
);
CREATE INDEX account_admins_user ON account_admins (user_id);
