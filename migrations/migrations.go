// Package migrations embeds the numbered SQL migrations into the binary.
package migrations

import "embed"

// FS holds every *.up.sql and *.down.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
