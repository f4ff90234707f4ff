ALTER TABLE users DROP COLUMN declared_user_type, DROP COLUMN authentication_provider_id;
