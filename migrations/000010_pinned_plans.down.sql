DROP INDEX users_login_id;
CREATE UNIQUE INDEX users_login_id ON users (root_account_id, lower(login_id));
DROP INDEX enrollments_user;
CREATE INDEX enrollments_user ON enrollments (user_id);
DROP INDEX group_memberships_user;
CREATE INDEX group_memberships_user ON group_memberships (user_id);
