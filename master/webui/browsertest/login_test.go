package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// TestDashboardLogin: behind --web-login the page is reached through the
// login page, and once the session is gone (cleared cookies stand for an
// expired one or a restarted master), the page goes back to the login page
// by itself: from a button's request (401) and from its live stream (the
// reconnection gets 401).
func TestDashboardLogin(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("ann:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the base path (the login page's redirects are
	// absolute); it lets the test cut the page's stream.
	c := startCluster(t, 1, clusterOptions{prefix: basePath, masterArgs: []string{"--web-login", "--web-login-file", users},
		user: "ann", password: "s3cret"})
	s, err := openSession(t, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, step := s.ctx, s.step
	atLogin := `location.pathname === '` + basePath + `/login' && !!document.querySelector('#password')`
	login := func() {
		t.Helper()
		step("logging in", chromedp.Run(ctx,
			chromedp.SetValue("#username", "ann", chromedp.ByQuery),
			chromedp.SetValue("#password", "s3cret", chromedp.ByQuery),
			chromedp.Submit("#password", chromedp.ByQuery)))
		step("the dashboard after the login", WaitJS(ctx, `document.querySelector('#h-state').textContent === 'Ready'`, 20*time.Second))
		step("closing the start form", chromedp.Run(ctx, chromedp.Click("#s-cancel", chromedp.ByQuery)))
	}

	step("opening the page", chromedp.Run(ctx, chromedp.Navigate(c.page)))
	step("the login page first", WaitJS(ctx, atLogin, 20*time.Second))
	login()
	step("the logout button is there", WaitJS(ctx, `!document.querySelector('#f-logout').hidden`, time.Second))

	step("dropping the session", chromedp.Run(ctx, network.ClearBrowserCookies()))
	step("pressing Reset stats", chromedp.Run(ctx, chromedp.Click("#b-reset", chromedp.ByQuery)))
	step("a 401 from a button sends the page to the login page", WaitJS(ctx, atLogin, 20*time.Second))

	login()
	step("dropping the session", chromedp.Run(ctx, network.ClearBrowserCookies()))
	c.proxy.CloseClientConnections() // the live stream ends; its reconnection gets 401
	step("a 401 on the stream sends the page to the login page", WaitJS(ctx, atLogin, 20*time.Second))

	for _, e := range s.b.Console.Errors() {
		// The 401s are the point, and the test cut the stream; nothing
		// else may fail.
		if !strings.Contains(e, "401") && !strings.Contains(e, "/ui/events") {
			t.Errorf("browser error: %s", e)
		}
	}
}
