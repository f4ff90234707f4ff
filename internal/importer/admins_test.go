package importer

import (
	"strings"
	"testing"
)

// TestAdminsDetection holds Canvas's test for admins files, user_id and
// account_id, in its place among the others.
func TestAdminsDetection(t *testing.T) {
	for _, c := range []struct {
		header, defaultLogin, want string
	}{
		{"user_id,account_id,role,status", "", typeAdmins},
		{"user_id,account_id", "", typeAdmins},
		{"status,role_id,account_id,user_id", "%u", typeAdmins},
		{"group_id,user_id,account_id,role,status", "", typeAdmins}, // Canvas tries admins before memberships
		{"course_id,user_id,account_id,role,status", "", typeEnrollments},
		{"section_id,user_id,account_id,role,status", "", typeEnrollments},
		{"user_id,login_id,account_id,status", "", typeUsers},
		{"user_id,account_id,status", "%-1f%-l", typeUsers}, // a users file whose login ids a default makes
		{"group_id,user_id,status", "", typeGroupMemberships},
		{"email,remove_from_groups,user_id,account_id", "", typeUserDeactivation},
		{"account_id,parent_account_id,user_id,name,status", "", typeAccounts},
	} {
		cols := map[string]int{}
		for i, name := range strings.Split(c.header, ",") {
			cols[name] = i
		}
		defaults := map[string]string{}
		if c.defaultLogin != "" {
			defaults["login_id"] = c.defaultLogin
		}
		if got, _ := detected(cols, defaults); got != c.want {
			t.Errorf("%s (default[login_id]=%q): %s, want %s", c.header, c.defaultLogin, got, c.want)
		}
	}
}
