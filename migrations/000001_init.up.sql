-- Accounts form a tree; path lists the ids from the root down to the account
-- itself, so "inside the subtree of A" is "A = ANY(path)".
CREATE TABLE accounts (
    id                bigserial PRIMARY KEY,
    parent_account_id bigint REFERENCES accounts (id),
    root_account_id   bigint NOT NULL,
    path              bigint[] NOT NULL,
    name              text NOT NULL,
    sis_account_id    text,
    workflow_state    text NOT NULL DEFAULT 'active',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_sis_id ON accounts (root_account_id, sis_account_id) WHERE sis_account_id IS NOT NULL;
CREATE INDEX accounts_path ON accounts USING gin (path);
CREATE INDEX accounts_parent ON accounts (parent_account_id);

INSERT INTO accounts (id, root_account_id, path, name) VALUES (1, 1, '{1}', 'Default Account');
SELECT setval('accounts_id_seq', 1);

-- API tokens are stored as SHA-256 hashes of their secret; the secret is shown once.
CREATE TABLE tokens (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('read_only', 'sis_import', 'admin')),
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE users (
    id               bigserial PRIMARY KEY,
    root_account_id  bigint NOT NULL,
    account_id       bigint NOT NULL,
    sis_user_id      text,
    integration_id   text,
    login_id         text NOT NULL,
    name             text NOT NULL DEFAULT '',
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    sortable_name    text NOT NULL DEFAULT '',
    short_name       text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    pronouns         text NOT NULL DEFAULT '',
    workflow_state   text NOT NULL DEFAULT 'active',
    origin           text NOT NULL DEFAULT 'sis',
    password_hash    text,
    last_import_id   bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_sis_id ON users (root_account_id, sis_user_id) WHERE sis_user_id IS NOT NULL;
CREATE UNIQUE INDEX users_login_id ON users (root_account_id, lower(login_id));
CREATE UNIQUE INDEX users_integration_id ON users (root_account_id, integration_id) WHERE integration_id IS NOT NULL;
CREATE INDEX users_account ON users (account_id);

CREATE TABLE sis_imports (
    id                  bigserial PRIMARY KEY,
    account_id          bigint NOT NULL REFERENCES accounts (id),
    root_account_id     bigint NOT NULL,
    token_id            bigint REFERENCES tokens (id),
    token_name          text NOT NULL DEFAULT '',
    workflow_state      text NOT NULL DEFAULT 'created',
    params              jsonb NOT NULL DEFAULT '{}',
    data                jsonb NOT NULL DEFAULT '{}',
    processing_warnings jsonb NOT NULL DEFAULT '[]',
    processing_errors   jsonb NOT NULL DEFAULT '[]',
    progress            integer NOT NULL DEFAULT 0,
    file_name           text NOT NULL DEFAULT '',
    file_type           text NOT NULL DEFAULT 'csv',
    file_bytes          bigint NOT NULL DEFAULT 0,
    file_encoding       text NOT NULL DEFAULT 'utf-8',
    file_bad_line       integer,
    idempotency_key     text,
    attempt             integer NOT NULL DEFAULT 0,
    results_attempt     integer,
    lease_until         timestamptz,
    worker              text,
    purged_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    ended_at            timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sis_imports_queue ON sis_imports (root_account_id, created_at, id) WHERE workflow_state IN ('created', 'importing');
CREATE INDEX sis_imports_account ON sis_imports (account_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX sis_imports_idempotency ON sis_imports (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The uploaded file, in chunks of about a megabyte, written by COPY while it streams in.
CREATE TABLE sis_import_chunks (
    import_id bigint NOT NULL,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (import_id, seq)
);
-- Uploads are stored as sent: compressing them cost more than it saved.
ALTER TABLE sis_import_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- One row per result. attempt fences results: only those of the import's
-- results_attempt are shown, so a crashed attempt's results are never seen.
-- id comes from a sequence and is read only through the (import_id, attempt,
-- id) index, so a primary key index would be a second index to maintain on
-- every one of a million rows for nothing.
CREATE TABLE sis_import_results (
    id         bigserial NOT NULL,
    import_id  bigint NOT NULL,
    attempt    integer NOT NULL,
    file       text NOT NULL,
    row        integer,
    entity     text NOT NULL,
    sis_id     text,
    object_id  bigint,
    action     text NOT NULL,
    code       text,
    message    text,
    changes    jsonb,
    row_info   text
);
CREATE INDEX sis_import_results_import ON sis_import_results (import_id, attempt, id);

-- Workers LISTEN on sis_imports: a new import, or one that ends and so frees
-- its root account's queue, wakes them.
CREATE FUNCTION sis_imports_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sis_imports', NEW.root_account_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER sis_imports_notify AFTER INSERT OR UPDATE OF workflow_state ON sis_imports
    FOR EACH ROW EXECUTE FUNCTION sis_imports_notify();
