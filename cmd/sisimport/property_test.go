package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// modelUser is a user as the in-memory model of the users rules keeps it.
type modelUser struct {
	login, first, state string
}

// TestAccountingInvariant imports random users files (valid and invalid
// rows, duplicates, random upload types) one after another and checks, for
// each, that every data row has exactly one result, that data.actions adds
// up to the results, and that results and directory equal what a simple
// in-memory model of docs/import-rules.md#row-outcomes, docs/import-rules.md#user-options predicts. SISIMPORT_PROPERTY_SEED
// replays a failing run.
func TestAccountingInvariant(t *testing.T) {
	t.Parallel()
	seed := uint64(rand.Int64())
	if v := os.Getenv("SISIMPORT_PROPERTY_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (SISIMPORT_PROPERTY_SEED replays it)", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	s := startService(t, nil)
	model := map[string]modelUser{}
	fresh := 0
	for round := range 25 {
		uploadType := []string{"create_or_update", "create_only", "update_only"}[rnd.IntN(3)]
		var csv strings.Builder
		csv.WriteString("user_id,login_id,first_name,status\n")
		var want []string // "line:action[/code]" in file order
		seen := map[string]bool{}
		next := model
		model = map[string]modelUser{}
		for k, v := range next {
			model[k] = v
		}
		line := 1
		for range 1 + rnd.IntN(40) {
			line++
			if rnd.IntN(10) == 0 { // a blank line: no result
				csv.WriteString("\n")
				continue
			}
			switch bad := rnd.IntN(12); bad {
			case 0, 1, 2: // an invalid row, on an id no other row uses
				fresh++
				id := fmt.Sprintf("X%d", fresh)
				switch bad {
				case 0:
					fmt.Fprintf(&csv, "%s,l%s,A,active,extra\n", id, id)
					want = append(want, fmt.Sprintf("%d:failed/malformed_csv", line))
				case 1:
					// A login id is required of a new user only: update_only
					// makes none (docs/import-rules.md#users-files).
					fmt.Fprintf(&csv, "%s,,A,active\n", id)
					if uploadType == "update_only" {
						want = append(want, fmt.Sprintf("%d:skipped/not_found", line))
					} else {
						want = append(want, fmt.Sprintf("%d:failed/missing_value", line))
					}
				case 2:
					fmt.Fprintf(&csv, "%s,l%s,A,retired\n", id, id)
					want = append(want, fmt.Sprintf("%d:failed/invalid_status", line))
				}
				continue
			}
			id := fmt.Sprintf("U%d", rnd.IntN(15))
			row := modelUser{login: "l" + strings.ToLower(id) + []string{"", "x"}[rnd.IntN(2)],
				first: []string{"Ann", "Bo"}[rnd.IntN(2)], state: []string{"active", "active", "suspended", "deleted"}[rnd.IntN(4)]}
			fmt.Fprintf(&csv, "%s,%s,%s,%s\n", id, row.login, row.first, row.state)
			if seen[id] {
				want = append(want, fmt.Sprintf("%d:failed/duplicate_in_file", line))
				continue
			}
			seen[id] = true
			old, exists := model[id]
			action := ""
			switch {
			case !exists && row.state == "deleted", !exists && uploadType == "update_only":
				action = "skipped/not_found"
			case exists && uploadType == "create_only":
				action = "skipped/exists"
			case !exists:
				action = "created"
				model[id] = row
			case old.state == "deleted" && row.state == "deleted":
				action = "unchanged" // docs/import-rules.md#row-outcomes: a deleted row leaves a deleted user as it is
			default:
				action = modelTransition(old, row)
				model[id] = row
			}
			want = append(want, fmt.Sprintf("%d:%s", line, action))
		}
		imp := s.importCSV("user_upload_type="+uploadType, csv.String())
		rs := s.results(imp.ID, "per_page=100")
		if got := summary(rs); got != strings.Join(want, " ") {
			t.Fatalf("round %d (%s), seed %d:\nfile:\n%s\n got %s\nwant %s", round, uploadType, seed, csv.String(), got, strings.Join(want, " "))
		}
		total := 0
		for a, n := range imp.Data.Actions["total"] {
			if a != "" {
				total += n
			}
		}
		if total != len(rs) {
			t.Fatalf("round %d: data.actions adds up to %d, there are %d results", round, total, len(rs))
		}
		rows, err := s.db.Query(t.Context(), `SELECT sis_user_id, login_id, first_name, workflow_state FROM users`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		stored := map[string]modelUser{}
		for rows.Next() {
			var id string
			var u modelUser
			pgtest.Must(t, rows.Scan(&id, &u.login, &u.first, &u.state))
			stored[id] = u
		}
		rows.Close()
		pgtest.Must(t, rows.Err())
		if fmt.Sprint(stored) != fmt.Sprint(model) {
			t.Fatalf("round %d, seed %d: the directory\n %v\ndiffers from the model\n %v", round, seed, stored, model)
		}
	}
}

// modelTransition is the table of docs/import-rules.md#status-transitions for a user that exists.
func modelTransition(old, row modelUser) string {
	switch {
	case old.state == row.state && old.login == row.login && old.first == row.first:
		return "unchanged"
	case old.state != row.state && row.state == "deleted":
		return "deleted"
	case old.state != "active" && row.state == "active":
		return "reactivated"
	case old.state == "active" && row.state == "suspended":
		return "deactivated"
	}
	return "updated"
}
