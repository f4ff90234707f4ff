-- What users.csv says of a user's login besides its id (docs/import-rules.md#the-users-file):
-- the kind of user the SIS declares, and the authentication provider the
-- login uses, kept as given ('' for none).
ALTER TABLE users
    ADD COLUMN declared_user_type text NOT NULL DEFAULT '',
    ADD COLUMN authentication_provider_id text NOT NULL DEFAULT '';
