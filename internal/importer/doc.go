// Package importer reads stored uploads and applies them to the directory,
// all of an import in one transaction, with one result per row
// (docs/import-rules.md). The file types are a registry (registry.go), each
// with its rules in its own file: the small files (accounts, terms,
// courses, sections, groups, change_sis_id) go a row at a time, in file
// order; the large ones (users, enrollments, group memberships,
// deactivations) a batch at a time.
package importer
