package console

import "testing"

func TestChangesReadAsOldToNew(t *testing.T) {
	for raw, want := range map[string]string{
		`{"workflow_state":["active","suspended"]}`:              "workflow_state: active → suspended",
		`{"name":["Ann","Anne"],"email":[null,"a@example.edu"]}`: "email: (none) → a@example.edu; name: Ann → Anne",
		`{"end_at":["",  "2026-08-24T00:00:00Z"],"limit":[1,2]}`: "end_at: (empty) → 2026-08-24T00:00:00Z; limit: 1 → 2",
		`null`: "",
		`{}`:   "",
	} {
		if got := changesText([]byte(raw)); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
