package csvread

import "fmt"

// Codes carried by FileError, matching the failure codes of docs/errors.md.
const (
	// CodeMalformedCSV marks a file whose CSV structure breaks down.
	CodeMalformedCSV = "malformed_csv"
	// CodeInvalidEncoding marks a file that is not valid in its encoding.
	CodeInvalidEncoding = "invalid_encoding"
)

// RowError reports a malformed record, such as a stray quote or a NUL byte.
// Reading can go on: the next call to Read starts at the next physical line.
// Column is the 1-based field number.
type RowError struct {
	Line, Column int
	Msg          string
}

// Error returns "line L, column C: msg".
func (e *RowError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// FileError reports that the file cannot be read past this point, for
// example an unterminated quoted field, a field or record over the bounds of
// Options, or invalid encoding. Column is the 1-based field number, or 0
// when the error is not about one field. Code is CodeMalformedCSV or
// CodeInvalidEncoding.
type FileError struct {
	Line, Column int
	Code, Msg    string
	// Bound names the bound of Options the file went past, if any.
	Bound string
}

// The bounds a FileError may name.
const (
	BoundFieldBytes = "MaxFieldBytes"
	BoundColumns    = "MaxColumns"
	BoundRows       = "MaxRows"
)

// Error returns "line L, column C: msg", leaving out the column when it is 0.
func (e *FileError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}
