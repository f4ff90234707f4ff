package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// apiGroupCategory is a group category as the API shows it (Canvas's
// GroupCategory object).
type apiGroupCategory struct {
	ID                        int64   `json:"id"`
	Name                      string  `json:"name"`
	Role                      *string `json:"role"`
	SelfSignup                *string `json:"self_signup"`
	AutoLeader                *string `json:"auto_leader"`
	ContextType               string  `json:"context_type"`
	AccountID                 *int64  `json:"account_id"`
	CourseID                  *int64  `json:"course_id"`
	GroupLimit                *int    `json:"group_limit"`
	SISGroupCategoryID        *string `json:"sis_group_category_id"`
	SISImportID               *int64  `json:"sis_import_id"`
	Protected                 bool    `json:"protected"`
	AllowsMultipleMemberships bool    `json:"allows_multiple_memberships"`
	IsMember                  bool    `json:"is_member"`
}

// groupCategoryZip is Canvas-shaped: the columns of Canvas's documentation
// examples, in their order, files in a zip order Canvas's is not.
var groupCategoryZip = []string{
	"groups.csv", "group_id,group_category_id,account_id,course_id,name,status\n" +
		"G1,GC1,A001,,Group1,available\n" + // 2 in GC1's account
		"G2,GC2,,,Group2,available\n" + // 3 takes GC2's course
		"G3,,,,Group3,available\n" + // 4 no category
		"G4,GC9,,,Group4,available\n" + // 5 unknown category
		"G5,GC1,A002,,Group5,available\n", // 6 GC1 is not A002's
	"group_categories.csv", "group_category_id,account_id,course_id,category_name,status\n" +
		"GC1,A001,,First Group Category,active\n" + // 2
		"GC2,,C1,Course Projects,active\n" + // 3
		"GC3,,,Root Category,active\n" + // 4 the import's account
		"GC4,A001,C1,Both,active\n" + // 5 both contexts
		"GC5,NOPE,,Lost,active\n" + // 6 unknown account
		"GC6,,,Never Made,deleted\n" + // 7 nothing to delete
		"GC7,,,No Status,\n" + // 8
		"GC1,A002,,Again,active\n", // 9 duplicate
	"courses.csv", "course_id,short_name,long_name,account_id,term_id,status\nC1,BIO1,Biology 1,A001,,active\n",
	"accounts.csv", "account_id,parent_account_id,name,status\nA001,,Humanities,active\nA002,A001,English,active\n",
}

func TestGroupCategoriesImport(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	imp := s.importZip("1", "", groupCategoryZip...)
	want := map[string]string{
		"accounts.csv:2": "created/", "accounts.csv:3": "created/", "courses.csv:2": "created/",
		"group_categories.csv:2": "created/", "group_categories.csv:3": "created/", "group_categories.csv:4": "created/",
		"group_categories.csv:5": "failed/invalid_value", "group_categories.csv:6": "failed/unknown_reference",
		"group_categories.csv:7": "skipped/not_found", "group_categories.csv:8": "failed/missing_value",
		"group_categories.csv:9": "failed/duplicate_in_file",
		"groups.csv:2":           "created/", "groups.csv:3": "created/", "groups.csv:4": "created/",
		"groups.csv:5": "failed/unknown_reference", "groups.csv:6": "failed/invalid_value",
	}
	sameOutcomes(t, "first import", outcomes(s.results(imp.ID, "")), want)
	if imp.Data.Counts["group_categories"] != 4 || imp.Data.Counts["groups"] != 3 || imp.Data.Actions["group_categories"]["created"] != 3 {
		t.Errorf("counts %v, actions %v", imp.Data.Counts, imp.Data.Actions["group_categories"])
	}
	if !slices.Contains(imp.Data.Supplied, "group_category") || fmt.Sprint(imp.Data.Statistics["GroupCategory"]) != "map[created:3 deactivated:0 deleted:0 restored:0]" {
		t.Errorf("supplied_batches %v, statistics %v", imp.Data.Supplied, imp.Data.Statistics)
	}
	msgs := map[string]string{}
	for _, r := range s.results(imp.ID, "action[]=failed") {
		msgs[fmt.Sprintf("%s:%d", r.File, *r.Row)] = str(r.Message)
	}
	for at, part := range map[string]string{
		"group_categories.csv:5": "columns account_id and course_id",
		"group_categories.csv:6": `column account_id: no account "NOPE" exists`,
		"group_categories.csv:8": "column status",
		"groups.csv:5":           `column group_category_id: no group category "GC9" exists`,
		"groups.csv:6":           `column group_category_id: group category "GC1" does not belong to the row's account_id`,
	} {
		if !strings.Contains(msgs[at], part) {
			t.Errorf("%s: message %q does not say %q", at, msgs[at], part)
		}
	}

	// The categories' contexts, and the groups' categories and contexts.
	ids := map[string]int64{}
	rows, err := s.db.Query(ctx, `SELECT 'account:' || sis_account_id, id FROM accounts WHERE sis_account_id IS NOT NULL
		UNION ALL SELECT 'course:' || sis_course_id, id FROM courses UNION ALL SELECT 'category:' || sis_group_category_id, id FROM group_categories`)
	pgtest.Must(t, err)
	for rows.Next() {
		var k string
		var id int64
		pgtest.Must(t, rows.Scan(&k, &id))
		ids[k] = id
	}
	rows.Close()
	g := map[string]dirGroup{}
	for _, sis := range []string{"G1", "G2", "G3"} {
		var one dirGroup
		s.getJSON("/api/v1/groups/sis_group_id:"+sis, &one)
		g[sis] = one
	}
	c1 := ids["course:C1"]
	if g["G1"].AccountID != ids["account:A001"] || g["G1"].CourseID != nil || i64(g["G1"].GroupCategoryID) != ids["category:GC1"] ||
		g["G2"].AccountID != ids["account:A001"] || g["G2"].CourseID == nil || *g["G2"].CourseID != c1 || i64(g["G2"].GroupCategoryID) != ids["category:GC2"] ||
		g["G3"].AccountID != 1 || g["G3"].GroupCategoryID != nil {
		t.Errorf("groups: %+v (ids %v)", g, ids)
	}

	// The API: an account's own categories, as Canvas shows them.
	var list []apiGroupCategory
	s.getJSON("/api/v1/accounts/sis_account_id:A001/group_categories", &list)
	if len(list) != 1 || list[0].Name != "First Group Category" || list[0].ContextType != "Account" || i64(list[0].AccountID) != ids["account:A001"] ||
		list[0].CourseID != nil || str(list[0].SISGroupCategoryID) != "GC1" || i64(list[0].SISImportID) != imp.ID ||
		list[0].Role != nil || list[0].SelfSignup != nil || list[0].AutoLeader != nil || list[0].GroupLimit != nil ||
		list[0].Protected || list[0].AllowsMultipleMemberships || list[0].IsMember {
		t.Errorf("A001's categories: %+v", list)
	}
	h := s.getJSON("/api/v1/accounts/1/group_categories?per_page=1", &list)
	if len(list) != 1 || str(list[0].SISGroupCategoryID) != "GC3" || !strings.Contains(h.Get("Link"), `rel="first"`) || strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("the root account's categories: %+v, Link %q", list, h.Get("Link"))
	}
	var course apiGroupCategory
	s.getJSON(fmt.Sprintf("/api/v1/group_categories/%d", ids["category:GC2"]), &course)
	if course.ContextType != "Course" || i64(course.CourseID) != c1 || course.AccountID != nil || course.Name != "Course Projects" {
		t.Errorf("a course's category: %+v", course)
	}
	code, b, _ := s.do("GET", "/api/v1/group_categories/sis_group_category_id:GC2", nil, nil)
	if code != 200 || !strings.Contains(string(b), `"course_id":`) || strings.Contains(string(b), `"account_id":`) {
		t.Errorf("a course's category by SIS id: %d %s", code, b)
	}
	if code, _, _ := s.do("GET", "/api/v1/group_categories/sis_group_category_id:GC5", nil, nil); code != 404 {
		t.Errorf("a category that was never made: %d", code)
	}
	english := s.newToken(ids["account:A002"], "admin")
	if code, _, _ := s.do("GET", "/api/v1/group_categories/sis_group_category_id:GC1", nil, map[string]string{"Authorization": "Bearer " + english}); code != 404 {
		t.Errorf("a category outside the token's account: %d, want 404", code)
	}

	// The same zip again changes nothing.
	again := s.importZip("1", "", groupCategoryZip...)
	for k, v := range outcomes(s.results(again.ID, "")) {
		if w := want[k]; w != v && !(strings.HasPrefix(w, "created/") && v == "unchanged/") {
			t.Errorf("second import %s: %s (first: %s)", k, v, w)
		}
	}

	// Changes: a rename, a move refused while the category has groups, a
	// move of an empty one, a deletion; a group cannot join a deleted
	// category, and one that moves leaves its category.
	change := s.importZip("1", "",
		"group_categories.csv", "group_category_id,account_id,course_id,category_name,status\n"+
			"GC1,A002,,First Group Category,active\n"+ // 2 G1 is in it
			"GC2,,,Renamed Projects,active\n"+ // 3 keeps its course
			"GC3,,,Root Category,deleted\n", // 4
		"groups.csv", "group_id,group_category_id,account_id,course_id,name,status\n"+
			"G3,GC3,,,Group3,available\n"+ // 2 GC3 is deleted
			"G1,,A002,,Group1,available\n", // 3 leaves GC1
	)
	sameOutcomes(t, "changes", outcomes(s.results(change.ID, "")), map[string]string{
		"group_categories.csv:2": "failed/invalid_value", "group_categories.csv:3": "updated/", "group_categories.csv:4": "deleted/",
		"groups.csv:2": "failed/unknown_reference", "groups.csv:3": "updated/",
	})
	byRow := map[string]result{}
	for _, r := range s.results(change.ID, "") {
		byRow[fmt.Sprintf("%s:%d", r.File, *r.Row)] = r
	}
	if m := str(byRow["group_categories.csv:2"].Message); !strings.Contains(m, `group category "GC1" has available groups`) {
		t.Errorf("moving a category with groups: %q", m)
	}
	if ch := byRow["group_categories.csv:3"].Changes; len(ch) != 1 || fmt.Sprint(ch["name"]) != "[Course Projects Renamed Projects]" {
		t.Errorf("the rename's changes: %v", ch)
	}
	if ch := byRow["groups.csv:3"].Changes; fmt.Sprint(ch["group_category_id"][0]) != fmt.Sprint(ids["category:GC1"]) || ch["group_category_id"][1] != nil {
		t.Errorf("the group that moved: changes %v", ch)
	}
	s.getJSON("/api/v1/accounts/1/group_categories", &list)
	if len(list) != 0 {
		t.Errorf("a deleted category is still listed: %+v", list)
	}
	if code, _, _ := s.do("GET", "/api/v1/group_categories/sis_group_category_id:GC3", nil, nil); code != 404 {
		t.Errorf("a deleted category: %d, want 404", code)
	}
	// GC1 is empty now: it may move.
	moved := s.importZip("1", "", "group_categories.csv", "group_category_id,account_id,category_name,status\nGC1,A002,First Group Category,active\nGC3,,Root Category,active\n")
	sameOutcomes(t, "move and reactivate", outcomes(s.results(moved.ID, "")), map[string]string{
		"group_categories.csv:2": "updated/", "group_categories.csv:3": "reactivated/",
	})
	s.getJSON("/api/v1/accounts/sis_account_id:A002/group_categories", &list)
	if len(list) != 1 || str(list[0].SISGroupCategoryID) != "GC1" {
		t.Errorf("A002's categories after the move: %+v", list)
	}

	// A restore puts the move back.
	if r := s.restore(moved.ID); r.WorkflowState != "restored" {
		t.Fatalf("restore: %s", r.WorkflowState)
	}
	var account *int64
	var state string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT account_id FROM group_categories WHERE sis_group_category_id = 'GC1'`).Scan(&account))
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT workflow_state FROM group_categories WHERE sis_group_category_id = 'GC3'`).Scan(&state))
	if i64(account) != ids["account:A001"] || state != "deleted" {
		t.Errorf("after the restore: GC1 in account %v, GC3 %s", account, state)
	}
}

func TestGroupCategoriesScopeAndSISIDs(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"accounts.csv", "account_id,parent_account_id,name,status\nEAST,,East,active\nWEST,,West,active\n",
		"group_categories.csv", "group_category_id,account_id,category_name,status\nGC1,EAST,East Teams,active\nGC2,WEST,West Teams,active\n",
	)
	// An import posted to East may not touch West's category, nor put one there.
	east := s.importZip("sis_account_id:EAST", "",
		"group_categories.csv", "group_category_id,account_id,category_name,status\nGC1,,East Teams 2,active\nGC2,,West Teams,active\nGC3,WEST,New,active\nGC4,,Made In East,active\n",
		"groups.csv", "group_id,group_category_id,name,status\nG1,GC2,Intruder,available\nG2,GC4,East Group,available\n",
	)
	sameOutcomes(t, "an import of a sub-account", outcomes(s.resultsIn("sis_account_id:EAST", east.ID, "")), map[string]string{
		"group_categories.csv:2": "updated/", "group_categories.csv:3": "failed/out_of_scope",
		"group_categories.csv:4": "failed/out_of_scope", "group_categories.csv:5": "created/",
		"groups.csv:2": "failed/out_of_scope", "groups.csv:3": "created/",
	})
	var list []apiGroupCategory
	s.getJSON("/api/v1/accounts/sis_account_id:EAST/group_categories", &list)
	if len(list) != 2 || list[0].Name != "East Teams 2" || list[1].Name != "Made In East" {
		t.Errorf("East's categories: %+v", list)
	}

	// change_sis_id: a category's SIS id, never an integration id.
	change := s.importZip("1", "",
		"change_sis_id.csv", "old_id,new_id,old_integration_id,new_integration_id,type\n"+
			"GC1,GC1-NEW,,,group_category\n"+ // 2
			"GC2,GC1-NEW,,,group_category\n"+ // 3 taken
			",,X,Y,group_category\n"+ // 4 no integration ids
			"GC2,GC2-NEW,,Y,group_category\n"+ // 5
			"NOPE,N2,,,group_category\n", // 6
		"groups.csv", "group_id,group_category_id,name,status\nG3,GC1-NEW,Renamed Category's Group,available\n",
	)
	sameOutcomes(t, "change_sis_id", outcomes(s.results(change.ID, "")), map[string]string{
		"change_sis_id.csv:2": "updated/", "change_sis_id.csv:3": "failed/exists", "change_sis_id.csv:4": "failed/invalid_value",
		"change_sis_id.csv:5": "failed/invalid_value", "change_sis_id.csv:6": "skipped/not_found", "groups.csv:2": "created/",
	})
	rs := s.results(change.ID, "file=change_sis_id.csv")
	if rs[0].Entity != "group_category" || fmt.Sprint(rs[0].Changes["sis_id"]) != "[GC1 GC1-NEW]" ||
		!strings.Contains(str(rs[2].Message), "column old_integration_id") || !strings.Contains(str(rs[3].Message), "column new_integration_id") {
		t.Errorf("change_sis_id results: %+v", rs)
	}
	var c apiGroupCategory
	s.getJSON("/api/v1/group_categories/sis_group_category_id:GC1-NEW", &c)
	var g dirGroup
	s.getJSON("/api/v1/groups/sis_group_id:G3", &g)
	if c.Name != "East Teams 2" || i64(g.GroupCategoryID) != c.ID || g.AccountID != i64(c.AccountID) {
		t.Errorf("after change_sis_id: category %+v, group %+v", c, g)
	}
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
