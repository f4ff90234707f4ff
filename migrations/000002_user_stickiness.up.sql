-- Fields changed through the API (not by an import) stick: imports leave
-- them alone unless told to override (docs/import-rules.md#stickiness-and-manual-objects).
ALTER TABLE users ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
CREATE INDEX users_email ON users (root_account_id, lower(email)) WHERE email <> '';
