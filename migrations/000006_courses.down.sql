DROP TABLE IF EXISTS group_memberships, groups, enrollments, sections, courses;
