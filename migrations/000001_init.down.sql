DROP TABLE IF EXISTS sis_import_results, sis_import_chunks, sis_imports, users, tokens, accounts CASCADE;
DROP FUNCTION IF EXISTS sis_imports_notify();
