-- Sessions of the browser console (docs/console.md#sessions): the session id
-- is stored as its SHA-256 hash, like a token's secret; a session lives
-- while its token does and ends after 8 hours without a request or at
-- sign out. csrf is the token every form of the session carries.
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY,
    token_id     bigint NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
