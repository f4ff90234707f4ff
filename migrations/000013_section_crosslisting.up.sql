-- Cross-listing (Canvas's xlists.csv, docs/import-rules.md#cross-listing):
-- a cross-listed section lives in another course than the one it was made
-- in, and remembers that one here to go back to. Null: not cross-listed.
ALTER TABLE sections ADD COLUMN nonxlist_course_id bigint REFERENCES courses (id);
