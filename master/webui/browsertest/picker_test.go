package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardClassPicker: with --class-picker the start form lists the
// user classes with their weight and fixed count; a fixed count changed in
// the form reaches the master (POST /user) before the start, and the start
// runs only the picked classes: with WebUser alone, at a fixed count of 3,
// 6 users asked for run 3 (Locust's dispatch: no other class takes the
// rest), none of them Ghost's.
func TestDashboardClassPicker(t *testing.T) {
	c := startCluster(t, 1, clusterOptions{prefix: basePath, masterArgs: []string{"--class-picker"}})
	s, err := openSession(t, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, step := s.ctx, s.step
	step("opening the page", chromedp.Run(ctx, chromedp.Navigate(c.page)))
	step("the form lists the classes", WaitJS(ctx, `document.querySelector('#d-start').open && `+
		`[...document.querySelectorAll('#s-classes input[type=checkbox]')].map(i => i.value).join() === 'WebUser,Ghost'`, 20*time.Second))
	step("picking WebUser only, with a fixed count of 3", chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector('#s-classes input[value="Ghost"]').click()`, nil),
		chromedp.SetValue(`#s-classes input[data-class="WebUser"][data-key="fixed_count"]`, "3", chromedp.ByQuery),
		chromedp.SetValue("#s-users", "6", chromedp.ByQuery),
		chromedp.SetValue("#s-rate", "20", chromedp.ByQuery),
		chromedp.Click("#s-submit", chromedp.ByQuery)))
	step("3 users run", WaitJS(ctx, `document.querySelector('#h-users').textContent === '3'`, 20*time.Second))
	step("all of them WebUser", chromedp.Run(ctx, chromedp.Click("#t-ratios", chromedp.ByQuery)))
	step("the ratio says so", WaitJS(ctx, `document.querySelector('#p-ratios').textContent.includes('100% WebUser (3 users now)') && `+
		`document.querySelector('#p-ratios').textContent.includes('0% Ghost')`, 20*time.Second))
	// The page's settings list the classes as the master has them now.
	page, err := c.get("/")
	step("the page", err)
	if !strings.Contains(page, `{"name":"WebUser","weight":1,"fixed_count":3}`) {
		t.Errorf("the master's classes after the form's change: %s", page[strings.Index(page, `"user_classes"`):][:120])
	}
	if errs := s.b.Console.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported errors: %v", errs)
	}
}
