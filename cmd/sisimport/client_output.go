package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sisimport/sisimport/internal/client"
)

// actionOrder is the order in which actions are listed
// (docs/import-rules.md's row outcomes).
var actionOrder = []string{"created", "updated", "unchanged", "deactivated", "reactivated", "deleted", "skipped", "failed"}

// firstMessages is how many warnings and errors the outcome prints; the
// rest are in the results.
const firstMessages = 5

// printOutcome writes what an administrator reads once an import stopped
// running: its state, counts by action per type, the first warnings and
// errors, and where the results are.
func printOutcome(w io.Writer, c *client.Client, account string, i client.Import) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "import %d\t%s\n", i.ID, i.WorkflowState)
	if name := i.FileName(); name != "" {
		fmt.Fprintf(tw, "file\t%s\n", cell(name))
	}
	up := i.CreatedAt.Local().Format(timeFormat)
	if i.User.Name != "" {
		up += " by " + cell(i.User.Name)
	}
	if i.StartedAt != nil && i.EndedAt != nil {
		up += ", ran " + i.EndedAt.Sub(*i.StartedAt).Round(10*time.Millisecond).String()
	}
	fmt.Fprintf(tw, "uploaded\t%s\n", up)
	switch {
	case i.DryRun && i.Data.WouldHold:
		fmt.Fprintf(tw, "applied\tno: a dry run; the real import would wait for approval\n")
	case i.DryRun:
		fmt.Fprintf(tw, "applied\tno: a dry run, nothing was changed\n")
	case i.WorkflowState == "awaiting_approval":
		fmt.Fprintf(tw, "applied\tnot yet: below is what it will do once approved\n")
	case !i.Data.Applied:
		fmt.Fprintf(tw, "applied\tno: nothing was changed\n")
	}
	for _, entity := range entities(i.Data.Actions) {
		fmt.Fprintf(tw, "%s\t%s\n", cell(entity), actionCounts(i.Data.Actions[entity]))
	}
	printMessages(tw, "warning", i.Data.Counts["warning_count"], i.ProcessingWarnings)
	printMessages(tw, "error", i.Data.Counts["error_count"], i.ProcessingErrors)
	if i.WorkflowState == "awaiting_approval" {
		fmt.Fprintf(tw, "held\twaits for approval: sisimport imports approve %d (an admin token), or imports abort %d\n", i.ID, i.ID)
	}
	results := client.ImportPath(account, i.ID) + "/results"
	fmt.Fprintf(tw, "results\t%s\n", c.URL(results))
	fmt.Fprintf(tw, "\t%s\n", c.URL(results+".csv"))
	if i.Data.Actions["total"]["failed"] > 0 {
		fmt.Fprintf(tw, "to fix\tsisimport imports results %d --original > fix.csv: the failed rows in their own columns\n", i.ID)
	}
	_ = tw.Flush()
}

// entities are the types an import touched, by name, then the total.
func entities(actions map[string]map[string]int) []string {
	var names []string
	for name := range actions {
		if name != "total" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if _, ok := actions["total"]; ok && len(names) != 1 {
		names = append(names, "total")
	}
	return names
}

// actionCounts is "3 created, 2 failed".
func actionCounts(counts map[string]int) string {
	var parts []string
	for _, a := range actionOrder {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", thousands(int64(n)), a))
		}
	}
	if len(parts) == 0 {
		return "no rows"
	}
	return strings.Join(parts, ", ")
}

// printMessages writes the count of warnings or errors and the first of
// them, as "file line N: message".
func printMessages(w io.Writer, kind string, count int, list [][2]string) {
	if count < len(list) {
		count = len(list)
	}
	if count == 0 {
		return
	}
	label := kind + "s"
	if count == 1 {
		label = kind
	}
	fmt.Fprintf(w, "%ss\t%s %s", kind, thousands(int64(count)), label)
	if count > firstMessages && len(list) > 0 {
		fmt.Fprintf(w, ", the first %d", min(firstMessages, len(list)))
	}
	fmt.Fprintln(w)
	for _, m := range list[:min(firstMessages, len(list))] {
		fmt.Fprintf(w, "\t%s\n", cell(strings.TrimSpace(m[0]+" "+m[1])))
	}
}

// printImports writes a table of imports, one a line.
func printImports(w io.Writer, list []client.Import) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tBY\tFILE\tROWS")
	for _, i := range list {
		state := i.WorkflowState
		if i.Running() {
			state = describe(i)
		} else if i.DryRun {
			state += " (dry run)"
		}
		rows := actionCounts(i.Data.Actions["total"])
		if i.Running() {
			rows = ""
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i.ID, state, i.CreatedAt.Local().Format(timeFormat), or(cell(i.User.Name), "-"), or(cell(i.FileName()), "-"), rows)
	}
	_ = tw.Flush()
}

// resultTable writes results as an aligned table, a page at a time, so
// that a million results do not wait in memory.
type resultTable struct {
	tw *tabwriter.Writer
	n  int
}

func newResultTable(w io.Writer) *resultTable {
	t := &resultTable{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, "FILE:LINE\tTYPE\tSIS ID\tACTION\tCODE\tMESSAGE")
	return t
}

func (t *resultTable) add(r client.Result) error {
	fmt.Fprintf(t.tw, "%s:%d\t%s\t%s\t%s\t%s\t%s\n", cell(r.File), r.Row, cell(r.Entity), deref(r.SISID), r.Action, deref(r.Code), deref(r.Message))
	t.n++
	if t.n%100 == 0 {
		return t.tw.Flush()
	}
	return nil
}

func (t *resultTable) flush() error { return t.tw.Flush() }

func deref(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return cell(*s)
}

// cell makes text from a file or the server safe to print on one line of
// a terminal: control characters (tabs, newlines, escape sequences that
// could rewrite the screen) and bidirectional overrides (which could make
// it read backwards) become spaces.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}
