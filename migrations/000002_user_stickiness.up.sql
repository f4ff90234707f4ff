-- Fields changed through the API (not by an import) stick: imports leave
-- them alone unless told to override (SPEC §4.8).
ALTER TABLE users ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
CREATE INDEX users_email ON users (root_account_id, lower(email)) WHERE email <> '';
