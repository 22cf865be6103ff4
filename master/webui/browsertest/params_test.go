package browsertest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// paramScenario has a var that its request's path carries: the target
// counts requests per path, so its counts say which value the workers used.
const paramScenario = `
vars:
  tag: default-tag
users:
  - class: WebUser
    wait_time: {constant: 0.05}
    tasks:
      - request: {method: GET, path: "/v/${tag}", name: tagged}
`

// TestDashboardParams: the start form has a Parameters group with a
// labelled input per var of the scenario, holding its default; a value
// typed there reaches both workers with the start (the target sees only
// paths with it), and the page's settings then hold it as the current
// value. The group's text keeps its contrast in both themes.
func TestDashboardParams(t *testing.T) {
	c := startCluster(t, 2, clusterOptions{prefix: basePath, scenario: paramScenario})
	s, err := openSession(t, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, step, wait := s.ctx, s.step, s.wait
	const input = `#s-params input[name="tag"]`
	step("opening the page", chromedp.Run(ctx, chromedp.Navigate(c.page)))
	wait("the start form shows the parameter with its default", `document.querySelector('#d-start').open && `+
		`!document.querySelector('#f-params').hidden && `+
		`document.querySelector('#f-params legend').textContent === 'Parameters' && `+
		`document.querySelector('`+input+`').value === 'default-tag'`, 20*time.Second)
	wait("its input is labelled with the var's name", `[...document.querySelector('`+input+`').labels].map(l => l.textContent).join() === 'tag'`, time.Second)
	step("screenshot", screenshot(ctx, filepath.Join(t.ArtifactDir(), "start-form-params.png")))
	for _, theme := range []string{"light", "dark"} {
		step("the "+theme+" theme", chromedp.Run(ctx, chromedp.Evaluate(
			`document.documentElement.dataset.theme = `+jsString(theme), nil)))
		bad, err := lowContrast(ctx)
		step("measuring the contrast", err)
		if len(bad) > 0 {
			t.Errorf("text below WCAG AA contrast in the %s theme:\n%s", theme, strings.Join(bad, "\n"))
		}
	}

	step("typing a value and starting", chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector('`+input+`').value = ''`, nil),
		chromedp.SendKeys(input, "typed-7", chromedp.ByQuery),
		chromedp.SetValue("#s-users", "4", chromedp.ByQuery),
		chromedp.SetValue("#s-rate", "20", chromedp.ByQuery),
		chromedp.Click("#s-submit", chromedp.ByQuery)))
	wait("4 users run", `document.querySelector('#h-users').textContent === '4'`, 30*time.Second)
	step("the target gets the typed value", Until(30*time.Second, func() (bool, error) {
		n := c.target.Count("GET /v/typed-7")
		return n >= 20, fmt.Errorf("%d requests to /v/typed-7 so far; all: %v", n, c.target.Counts())
	}))
	if n := c.target.Count("GET /v/default-tag"); n != 0 {
		t.Errorf("%d requests with the default value, after the form set another", n)
	}
	page, err := c.get("/")
	step("the page", err)
	if want := `{"name":"tag","value":"typed-7","set":true}`; !strings.Contains(page, want) {
		i := strings.Index(page, `"params"`)
		t.Errorf("the page's settings: %.120s, want %s", page[max(i, 0):], want)
	}
	if errs := s.b.Console.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported errors: %v", errs)
	}
}
