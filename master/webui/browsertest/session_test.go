package browsertest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// session is a test's browser: its tab's context, and the steps that fail
// the test with what the page showed.
type session struct {
	t   *testing.T
	ctx context.Context
	b   *Browser
}

// openSession starts Chromium for t (closed at t's end); its actions time
// out after timeout.
func openSession(t *testing.T, timeout time.Duration) (*session, error) {
	b, err := Start(context.Background(), Options{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	t.Cleanup(func() {
		cancel()
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return &session{t: t, ctx: ctx, b: b}, nil
}

// step fails the test when err is not nil, with a screenshot of the page
// (failure.png in the artifact directory) and the visible tab's text. It
// runs on the test's goroutine.
func (s *session) step(what string, err error) {
	s.t.Helper()
	if err == nil {
		return
	}
	if serr := screenshot(s.ctx, filepath.Join(s.t.ArtifactDir(), "failure.png")); serr != nil {
		s.t.Logf("screenshot of the failure: %v", serr)
	}
	var text string
	_ = chromedp.Run(s.ctx, chromedp.Evaluate(`(document.querySelector('[role=tabpanel]:not([hidden])') || document.body).textContent`, &text))
	s.t.Fatalf("%s: %v\nthe page shows: %.800s", what, err, text)
}

// wait is a step that waits until cond is true in the page.
func (s *session) wait(what, cond string, timeout time.Duration) {
	s.t.Helper()
	s.step("waiting until "+what, WaitJS(s.ctx, cond, timeout))
}
