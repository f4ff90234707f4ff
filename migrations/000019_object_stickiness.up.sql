-- Fields of accounts, terms, courses, sections, groups and terms' date
-- overrides changed through the API (not by an import) stick: imports leave
-- them alone unless told to override, as users' do
-- (docs/import-rules.md#stickiness-and-manual-objects).
ALTER TABLE accounts ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE terms ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE term_date_overrides ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE courses ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE sections ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE groups ADD COLUMN sticky_fields text[] NOT NULL DEFAULT '{}';

-- Canvas's restrict_enrollments_to_section_dates: an import sets it to
-- whether the section has a date, unless an edit through the API made it
-- stick; it was derived from the dates before.
ALTER TABLE sections ADD COLUMN restrict_enrollments_to_section_dates boolean NOT NULL DEFAULT false;
UPDATE sections SET restrict_enrollments_to_section_dates = true WHERE start_at IS NOT NULL OR end_at IS NOT NULL;
