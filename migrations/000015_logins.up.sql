-- A user's additional logins (Canvas's pseudonyms beyond the first), from
-- logins.csv. The user's own login stays on the users row; a login id, an
-- SIS user id and an integration id are unique within a root account
-- across both, which the importer checks (docs/import-rules.md#logins-files):
-- an index cannot span two tables.
--
-- ids come from the users' sequence, so no extra login's id equals any
-- user's id: GET /users/:id/logins gives the user's own login the user's
-- id, and every login id it shows is unique (docs/api.md#logins).
CREATE TABLE logins (
    id                         bigint PRIMARY KEY DEFAULT nextval('users_id_seq'),
    root_account_id            bigint NOT NULL,
    user_id                    bigint NOT NULL REFERENCES users (id),
    unique_id                  text NOT NULL,
    sis_user_id                text,
    integration_id             text,
    authentication_provider_id text,
    password_hash              text,
    email                      text,
    workflow_state             text NOT NULL DEFAULT 'active' CHECK (workflow_state IN ('active', 'deleted')),
    last_import_id             bigint,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
-- Each lookup's condition matches exactly one of these (plans.go,
-- migrations/000010_pinned_plans): they share their leading column, so each
-- is partial, with a predicate that only its own condition implies.
CREATE UNIQUE INDEX logins_login_id ON logins (root_account_id, lower(unique_id)) WHERE unique_id IS NOT NULL;
CREATE UNIQUE INDEX logins_sis_id ON logins (root_account_id, sis_user_id) WHERE sis_user_id IS NOT NULL;
CREATE UNIQUE INDEX logins_integration_id ON logins (root_account_id, integration_id) WHERE integration_id IS NOT NULL;
CREATE INDEX logins_user ON logins (user_id);
