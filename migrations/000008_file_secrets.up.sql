-- True while the stored upload of an import still holds password cells:
-- they are blanked once the import reaches a final state (not while it is
-- held for approval, whose re-run needs them).
ALTER TABLE sis_imports ADD COLUMN file_secrets boolean NOT NULL DEFAULT false;
CREATE INDEX sis_imports_file_secrets ON sis_imports (id) WHERE file_secrets;
