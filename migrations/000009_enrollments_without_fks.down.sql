ALTER TABLE enrollments ADD FOREIGN KEY (root_account_id) REFERENCES accounts (id),
    ADD FOREIGN KEY (course_id) REFERENCES courses (id),
    ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE group_memberships ADD FOREIGN KEY (group_id) REFERENCES groups (id),
    ADD FOREIGN KEY (user_id) REFERENCES users (id);
