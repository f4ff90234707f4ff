ALTER TABLE sections DROP COLUMN nonxlist_course_id;
