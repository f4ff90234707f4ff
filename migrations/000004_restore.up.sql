-- A restore of an import is a job of the same queue (one at a time per
-- root account, fenced, leased), whose results are the restore's outcomes.
ALTER TABLE sis_imports ADD COLUMN kind text NOT NULL DEFAULT 'import' CHECK (kind IN ('import', 'restore'));
ALTER TABLE sis_imports ADD COLUMN restore_of bigint REFERENCES sis_imports (id);
CREATE UNIQUE INDEX sis_imports_one_restore ON sis_imports (restore_of) WHERE restore_of IS NOT NULL;
