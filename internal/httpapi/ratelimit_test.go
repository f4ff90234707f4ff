package httpapi

import (
	"testing"
	"time"
)

func TestLimiterRefillsAndForgets(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, 3, func() time.Time { return now })
	type step struct {
		advance time.Duration
		id      int64
		ok      bool
		left    float64
		wait    time.Duration
	}
	for i, s := range []step{
		{0, 1, true, 2, 0},
		{0, 1, true, 1, 0},
		{0, 1, true, 0, 0},
		{0, 1, false, 0, 500 * time.Millisecond}, // empty: one request back in 1/rate
		{0, 2, true, 2, 0},                       // another token has its own bucket
		{250 * time.Millisecond, 1, false, 0.5, 250 * time.Millisecond},
		{250 * time.Millisecond, 1, true, 0, 0}, // refilled to one
		{10 * time.Second, 1, true, 2, 0},       // never above the burst
		{-time.Second, 1, true, 1, 0},           // a clock stepping back refills nothing
	} {
		now = now.Add(s.advance)
		ok, left, wait := l.take(s.id)
		if ok != s.ok || left != s.left || wait != s.wait {
			t.Errorf("step %d: take(%d) = %v, %v, %v; want %v, %v, %v", i, s.id, ok, left, wait, s.ok, s.left, s.wait)
		}
	}

	// Full buckets are dropped at the next sweep: memory follows the tokens in use.
	now = now.Add(sweepEvery)
	for id := int64(10); id < 1010; id++ {
		l.take(id)
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d buckets after 1000 tokens, want 1000 (the refilled ones 1 and 2 swept)", n)
	}
	now = now.Add(sweepEvery)
	l.take(1)
	if n := l.size(); n != 1 {
		t.Errorf("%d buckets after a sweep, want 1", n)
	}

	if newLimiter(0, 10, time.Now) != nil {
		t.Error("a rate of 0 made a limiter")
	}
}
