package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sisimport/sisimport/internal/client"
)

const timeFormat = "2006-01-02 15:04:05"

// How follow polls: soon at first, since most imports are small, then
// every few seconds; a server that does not answer is asked again for a
// while, since a restart of the service should not fail a nightly job.
const (
	firstPoll    = 200 * time.Millisecond
	slowestPoll  = 2 * time.Second
	patienceLost = 2 * time.Minute
)

// progressView shows an import's progress as it is followed.
type progressView interface {
	show(client.Import)
	retrying(error)
	done()
}

// follow polls the import until it stops running.
func follow(ctx context.Context, c *client.Client, account string, imp client.Import, view progressView) (client.Import, error) {
	defer view.done()
	delay, lastAnswer := firstPoll, time.Now()
	for imp.Running() {
		view.show(imp)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return imp, fmt.Errorf("stopped following import %d, which goes on on the server (sisimport imports show %d --wait follows it again): %w",
				imp.ID, imp.ID, ctx.Err())
		case <-t.C:
		}
		next, err := c.Get(ctx, account, imp.ID)
		var ce *client.Error
		switch {
		case err == nil:
			imp, lastAnswer, delay = next, time.Now(), min(2*delay, slowestPoll)
		case errors.As(err, &ce) && !ce.Refused() && time.Since(lastAnswer) < patienceLost:
			view.retrying(err)
			delay = slowestPoll
		default:
			return imp, err
		}
	}
	view.show(imp)
	return imp, nil
}

// isTerminal says whether w is a terminal, where a bar can redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer) progressView {
	if isTerminal(w) {
		return &barView{bar: progressbar.NewOptions(100, progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(false), progressbar.OptionClearOnFinish())}
	}
	return &plainView{w: w, step: -1}
}

// barView redraws one line on a terminal.
type barView struct {
	bar *progressbar.ProgressBar
}

func (v *barView) show(i client.Import) {
	// The bar shows the percentage; the description the rest.
	desc := fmt.Sprintf("import %d %s", i.ID, i.WorkflowState)
	if !i.Running() || i.WorkflowState == "created" {
		desc = fmt.Sprintf("import %d %s", i.ID, describe(i))
	}
	v.bar.Describe(desc + rate(i))
	_ = v.bar.Set(i.Progress)
}

func (v *barView) retrying(err error) { v.bar.Describe("no answer, trying again: " + err.Error()) }

func (v *barView) done() { _ = v.bar.Finish() }

// plainView writes a line when the state changes or progress passes a
// tenth, never one per poll: what a cron log or CI keeps.
type plainView struct {
	w     io.Writer
	state string
	step  int
}

func (v *plainView) show(i client.Import) {
	step := i.Progress / 10
	if i.WorkflowState == v.state && step == v.step {
		return
	}
	v.state, v.step = i.WorkflowState, step
	fmt.Fprintf(v.w, "%s import %d %s\n", time.Now().Format(timeFormat), i.ID, describe(i))
}

func (v *plainView) retrying(err error) {
	fmt.Fprintf(v.w, "%s no answer, trying again: %v\n", time.Now().Format(timeFormat), err)
}

func (v *plainView) done() {}

// describe says where an import stands, in a few words.
func describe(i client.Import) string {
	switch {
	case i.WorkflowState == "created" && i.BlockedBy != nil:
		return fmt.Sprintf("queued behind import %d", *i.BlockedBy)
	case i.WorkflowState == "created":
		return "queued"
	case !i.Running():
		return i.WorkflowState
	}
	return fmt.Sprintf("%s %d %%", i.WorkflowState, i.Progress) + rate(i)
}

// rate is a running import's rows per second and time left, as the
// server reckons them.
func rate(i client.Import) string {
	var s string
	if i.RowsPerSecond != nil && *i.RowsPerSecond > 0 && i.Running() {
		s += fmt.Sprintf(", %s rows/s", thousands(*i.RowsPerSecond))
	}
	if i.EtaSeconds != nil && *i.EtaSeconds > 0 && i.Running() {
		s += ", about " + (time.Duration(*i.EtaSeconds) * time.Second).String() + " left"
	}
	return s
}

// uploadProgress shows an upload: a bar of bytes on a terminal, one line
// otherwise.
type uploadProgress struct {
	bar *progressbar.ProgressBar
}

func newUploadProgress(w io.Writer, path string) (*uploadProgress, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	name := filepath.Base(path)
	if !isTerminal(w) {
		fmt.Fprintf(w, "%s uploading %s (%s bytes)\n", time.Now().Format(timeFormat), name, thousands(st.Size()))
		return &uploadProgress{}, nil
	}
	return &uploadProgress{bar: progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("uploading "+name), progressbar.OptionSetWidth(30), progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionThrottle(100*time.Millisecond))}, nil
}

func (u *uploadProgress) wrap(r io.Reader) io.Reader {
	if u.bar == nil {
		return r
	}
	pr := progressbar.NewReader(r, u.bar)
	return &pr
}

func (u *uploadProgress) done() {
	if u.bar != nil {
		_ = u.bar.Finish()
	}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
