-- An import's lookups must have one plan whatever the statistics say
-- (docs/operations.md, "Plans that statistics cannot change"): each index
-- such a lookup can use must be the only index its condition matches.
-- These three shared their leading column with another index that a lookup
-- uses, so a planner misled by statistics could walk them instead (users by
-- SIS id walked every user of the root account in users_login_id). Each
-- becomes partial, with a predicate that only its own statements state;
-- it indexes the same rows as before wherever those statements look.
CREATE UNIQUE INDEX users_login_id_pinned ON users (root_account_id, lower(login_id)) WHERE login_id IS NOT NULL;
DROP INDEX users_login_id;
ALTER INDEX users_login_id_pinned RENAME TO users_login_id;

CREATE INDEX enrollments_user_pinned ON enrollments (user_id) WHERE workflow_state <> 'deleted';
DROP INDEX enrollments_user;
ALTER INDEX enrollments_user_pinned RENAME TO enrollments_user;

CREATE INDEX group_memberships_user_pinned ON group_memberships (user_id) WHERE workflow_state = 'accepted';
DROP INDEX group_memberships_user;
ALTER INDEX group_memberships_user_pinned RENAME TO group_memberships_user;
