ALTER TABLE groups DROP COLUMN group_category_id;
DROP TABLE IF EXISTS group_categories;
