package browsertest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var readmePNG = flag.String("readme-png", "", "also write a screenshot of the Statistics tab with a request's charts here "+
	"(the README's: go test -run TestDashboard$ -readme-png $PWD/../../../docs/dashboard.png)")

// tab is one tab of the dashboard and the JavaScript condition that says
// it shows its data.
type tab struct {
	id, ready string
}

// TestDashboard drives the dashboard in Chromium against a real master
// with two workers and a target, through a reverse proxy that serves the
// master's base path under another prefix: start a test from the form, see
// the table and the charts fill, edit the users, read every tab, open one
// request's charts, download the stats CSV and compare it with the API's,
// reload and find the history, stop, see a killed worker go missing. The
// browser's console must stay free of errors; each tab's screenshot goes to the test's artifact directory
// (go test -artifacts).
func TestDashboard(t *testing.T) {
	// The proxy serves the base path under another prefix, as a reverse
	// proxy that maps paths does.
	c := startCluster(t, 2, clusterOptions{prefix: "/lt"})
	s, err := openSession(t, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, step, wait := s.ctx, s.step, s.wait
	shots := t.ArtifactDir()
	downloads := t.TempDir()
	shot := func(name string) {
		t.Helper()
		step("screenshot "+name, screenshot(ctx, filepath.Join(shots, name+".png")))
	}
	number := func(sel string) float64 {
		t.Helper()
		var v float64
		step("reading "+sel, chromedp.Run(ctx, chromedp.Evaluate(`+document.querySelector(`+jsString(sel)+`).textContent.replace(/[^0-9.]/g, '')`, &v)))
		return v
	}

	step("opening the page", chromedp.Run(ctx,
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(c.page)))
	wait("the start form opens", `document.querySelector('#d-start').open`, 20*time.Second)
	wait("every input has a label", `[...document.querySelectorAll('input:not([type=hidden]), select')].every(i => i.labels.length > 0 || i.getAttribute('aria-label'))`, time.Second)
	shot("start-form")
	step("starting a test from the form", chromedp.Run(ctx,
		chromedp.SetValue("#s-users", "9", chromedp.ByQuery),
		chromedp.SetValue("#s-rate", "20", chromedp.ByQuery),
		chromedp.Click("#s-submit", chromedp.ByQuery)))
	wait("the header says Running", `document.querySelector('#h-state').textContent === 'Running'`, 20*time.Second)
	wait("the table has the three request names", `document.querySelectorAll('#p-stats tbody tr:not(.pad)').length === 3`, 20*time.Second)
	agg := `#p-stats tfoot td.num`
	first := number(agg)
	wait("the Aggregated requests rise", fmt.Sprintf(`+document.querySelector('%s').textContent.replace(/,/g, '') > %v`, agg, first), 20*time.Second)
	wait("8 users run (the Ghost user runs nowhere)", `document.querySelector('#h-users').textContent === '8'`, 20*time.Second)
	shot("stats")
	contrast := func(theme string) {
		t.Helper()
		bad, err := lowContrast(ctx)
		step("measuring the contrast", err)
		if len(bad) > 0 {
			t.Errorf("text below WCAG AA contrast in the %s theme:\n%s", theme, strings.Join(bad, "\n"))
		}
	}
	contrast("light")

	step("opening a request name's charts", chromedp.Run(ctx, chromedp.Evaluate(
		`[...document.querySelectorAll('#p-stats tbody button.link')].find(b => b.textContent === 'home').click()`, nil)))
	wait("its charts have points", `/[1-9][0-9]* points/.test(document.querySelector('.endpoint canvas').getAttribute('aria-label'))`, 20*time.Second)
	wait("its heading names it", `document.querySelector('#ep-h').textContent === 'GET home'`, time.Second)
	shot("endpoint")

	points := `+(document.querySelector('#p-charts canvas').getAttribute('aria-label').match(/, (\d+) points/) || [0, 0])[1]`
	step("the Charts tab", selectTab(ctx, "charts"))
	wait("the charts have points", points+` >= 3`, 20*time.Second)
	shot("charts")
	step("saving a chart as an image", chromedp.Run(ctx, chromedp.Click(`#p-charts .chart button.small`, chromedp.ByQuery)))
	step("the chart's PNG", Until(10*time.Second, func() (bool, error) {
		b, err := os.ReadFile(filepath.Join(downloads, "total_requests_per_second.png"))
		return err == nil && strings.HasPrefix(string(b), "\x89PNG"), err
	}))
	step("the dark theme", chromedp.Run(ctx, chromedp.Click("#b-theme", chromedp.ByQuery)))
	wait("the dark theme applies", `document.documentElement.dataset.theme === 'dark'`, time.Second)
	shot("charts-dark")
	step("the Statistics tab in the dark theme", selectTab(ctx, "stats"))
	contrast("dark")
	shot("stats-dark")
	step("back to the Charts tab", selectTab(ctx, "charts"))
	step("the light theme", chromedp.Run(ctx, chromedp.Click("#b-theme", chromedp.ByQuery)))

	step("editing the users", chromedp.Run(ctx,
		chromedp.Click("#b-edit", chromedp.ByQuery),
		chromedp.WaitVisible("#e-users", chromedp.ByQuery),
		chromedp.SetValue("#e-users", "5", chromedp.ByQuery),
		chromedp.Click("#e-submit", chromedp.ByQuery)))
	wait("4 users run after the edit", `document.querySelector('#h-users').textContent === '4'`, 30*time.Second)

	for _, tb := range []tab{
		{"failures", `document.querySelector('#p-failures').textContent.includes('HTTP 500')`},
		{"exceptions", `document.querySelector('#p-exceptions').textContent.includes('Unknown user class "Ghost"')`},
		{"ratios", `document.querySelector('#p-ratios').textContent.includes('% WebUser') && document.querySelector('#p-ratios').textContent.includes('% home')`},
		{"downloads", `!!document.querySelector('#p-downloads a[href="stats/requests/csv"]')`},
		{"logs", `document.querySelector('#p-logs pre').textContent.includes('Sending spawn jobs') && document.querySelectorAll('#logs-worker option').length === 2`},
		{"workers", `[...document.querySelectorAll('#p-workers tbody tr:not(.pad)')].filter(r => r.textContent.includes('running')).length === 2`},
		{"runs", `document.querySelector('#p-runs tbody tr') !== null && document.querySelector('#p-runs tbody').textContent.includes('(running)')`},
	} {
		step("the "+tb.id+" tab", selectTab(ctx, tb.id))
		wait("the "+tb.id+" tab shows its data", tb.ready, 30*time.Second)
		shot(tb.id)
	}

	step("arrow keys move between tabs", chromedp.Run(ctx,
		chromedp.Focus("#t-runs", chromedp.ByQuery),
		chromedp.KeyEvent(kb.ArrowLeft)))
	wait("the arrow key selected the previous tab", `document.activeElement.id === 't-workers' && !document.querySelector('#p-workers').hidden`, 5*time.Second)

	// The time axis labels whole multiples of a round step, one label per
	// second at most, so two labels never read the same time.
	step("the time axis' steps", chromedp.Run(ctx, chromedp.Evaluate(
		`import('./ui/chart.js').then(m => { window.timeSteps = [300, 1000, 1500, 59000, 7200001].map(m.timeStep).join(); }); 0`, nil)))
	wait("the time axis' steps are round", `window.timeSteps === '1000,1000,2000,60000,10800000'`, 10*time.Second)

	step("the Charts tab before reloading", selectTab(ctx, "charts"))
	var before float64
	step("counting the points", chromedp.Run(ctx, chromedp.Evaluate(points, &before)))
	step("reloading", chromedp.Run(ctx, chromedp.Reload()))
	wait("the reloaded page has the history", fmt.Sprintf(`document.querySelector('#p-charts canvas') !== null && %s >= %v`, points, before), 20*time.Second)
	shot("charts-reloaded")

	if *readmePNG != "" {
		step("the Statistics tab for the README", selectTab(ctx, "stats"))
		step("the item's charts", chromedp.Run(ctx, chromedp.Evaluate(
			`[...document.querySelectorAll('#p-stats tbody button.link')].find(b => b.textContent === 'item').click()`, nil)))
		wait("its response times", `/item/.test(document.querySelector('#ep-h').textContent) && /[3-9][0-9]* points|[1-9][0-9]+ points/.test(document.querySelectorAll('.endpoint canvas')[1].getAttribute('aria-label'))`, 20*time.Second)
		step("writing "+*readmePNG, screenshot(ctx, *readmePNG))
	}

	step("stopping", chromedp.Run(ctx, chromedp.Click("#b-stop", chromedp.ByQuery)))
	wait("the header says Stopped", `document.querySelector('#h-state').textContent === 'Stopped'`, 30*time.Second)
	step("the stopped run's report", selectTab(ctx, "runs"))
	wait("the stopped run has its report", `!!document.querySelector('#p-runs a[href$="/report"]')`, 20*time.Second)
	shot("runs-stopped")

	// The stats are final once two reads agree; the CSV downloaded from
	// the page must then be the API's.
	var api string
	step("stats settle", Until(20*time.Second, func() (bool, error) {
		a, err := c.get("/stats/requests/csv")
		if err != nil {
			return false, err
		}
		same := a == api
		api = a
		return same, nil
	}))
	step("the Download data tab", selectTab(ctx, "downloads"))
	step("downloading the stats CSV", chromedp.Run(ctx, chromedp.Click(`#p-downloads a[href="stats/requests/csv"]`, chromedp.ByQuery)))
	var got string
	step("the download", Until(20*time.Second, func() (bool, error) {
		files, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
		if len(files) != 1 {
			return false, fmt.Errorf("%d CSV files", len(files))
		}
		b, err := os.ReadFile(files[0])
		got = string(b)
		return err == nil && got != "", err
	}))
	if got != api {
		t.Errorf("downloaded CSV differs from /stats/requests/csv:\n--- page\n%s\n--- API\n%s", got, api)
	}
	if !strings.HasPrefix(got, "Type,Name,Request Count") || !strings.Contains(got, "Aggregated") {
		t.Errorf("downloaded CSV is not the stats CSV:\n%s", got)
	}

	// A worker that dies goes missing: red, with how long it has been.
	step("killing a worker", c.workers[1].Kill())
	step("the Workers tab", selectTab(ctx, "workers"))
	wait("the dead worker shows missing", `(() => { const r = document.querySelector('#p-workers tbody tr.missing'); `+
		`return r && /missing for [0-9]+s/.test(r.textContent) && document.querySelector('#p-workers .summary-line.bad') })()`, 30*time.Second)
	shot("workers-missing")

	if errs := s.b.Console.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported %d errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// selectTab clicks a tab and waits for its panel.
func selectTab(ctx context.Context, id string) error {
	if err := chromedp.Run(ctx, chromedp.Click("#t-"+id, chromedp.ByQuery)); err != nil {
		return err
	}
	return WaitJS(ctx, fmt.Sprintf(`!document.querySelector('#p-%s').hidden`, id), 5*time.Second)
}

// screenshot writes the page's visible part as a PNG.
func screenshot(ctx context.Context, path string) error {
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// jsString quotes s for JavaScript.
func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
