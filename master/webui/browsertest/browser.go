// Package browsertest drives Debian's Chromium from Go (chromedp, over the
// DevTools protocol) for the dashboard's browser test (dashboard_test.go)
// and the bench's measurement of its cost in the browser. It is a Go
// module of its own, so the product's go.mod does not carry chromedp.
//
// Chromium runs headless with a fresh profile, without the sandbox (tests
// run as root in CI) and without the background connections it would make
// to Google's services (the test machines have no network beyond
// 127.0.0.0/8 and refuse them).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ExecPath finds Chromium: $GLOCUST_CHROMIUM, else chromium,
// chromium-browser or google-chrome on the PATH.
func ExecPath() (string, error) {
	if p := os.Getenv("GLOCUST_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium: install Debian's chromium (apt-get install chromium), or set GLOCUST_CHROMIUM")
}

// Browser is one headless Chromium with one tab. Ctx runs chromedp actions
// in that tab.
type Browser struct {
	Ctx     context.Context
	Console *Console
	cancel  []context.CancelFunc
	profile string // the profile directory Start made ("": the caller's)
}

// Options of Start.
type Options struct {
	// UserDataDir is the profile's directory, fresh; "": a temporary one
	// that Close removes.
	UserDataDir   string
	Width, Height int // the window (default 1400 x 900)
}

// Start launches Chromium and opens its tab. Close ends it.
func Start(parent context.Context, o Options) (*Browser, error) {
	path, err := ExecPath()
	if err != nil {
		return nil, err
	}
	b := &Browser{Console: &Console{}}
	if o.UserDataDir == "" {
		if b.profile, err = os.MkdirTemp("", "glocust-chromium-"); err != nil {
			return nil, err
		}
		o.UserDataDir = b.profile
	}
	if o.Width == 0 {
		o.Width, o.Height = 1400, 900
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.UserDataDir(o.UserDataDir),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	// chromedp logs the DOM events it has no use for (a dialog's top
	// layer) as errors; they are not the page's.
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "unhandled node event") {
			log.Printf(format, args...)
		}
	}))
	b.cancel = []context.CancelFunc{cancelTab, cancelAlloc}
	chromedp.ListenTarget(ctx, b.Console.listen)
	if err := chromedp.Run(ctx); err != nil { // starts the browser and the tab
		b.Close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	b.Ctx = ctx
	return b, nil
}

// Close ends the tab and the browser, and removes the profile Start made
// (Chromium's helpers may still be writing it for a moment: Close retries
// for up to 5 s). It returns the error of that removal.
func (b *Browser) Close() error {
	for _, c := range b.cancel {
		c()
	}
	if b.profile == "" {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.RemoveAll(b.profile)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Console gathers what the page reports as errors: console.error calls,
// uncaught exceptions, and the browser's own error entries (a failed
// request, a refused script).
type Console struct {
	mu     sync.Mutex
	errors []string
}

func (c *Console) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.APITypeError && e.Type != runtime.APITypeAssert {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg = "uncaught: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level != cdplog.LevelError {
			return
		}
		msg = "browser " + string(e.Entry.Source) + ": " + e.Entry.Text + " " + e.Entry.URL
	default:
		return
	}
	c.mu.Lock()
	c.errors = append(c.errors, msg)
	c.mu.Unlock()
}

// Errors returns the errors so far.
func (c *Console) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// Metrics returns Chromium's performance metrics of the page (Performance
// domain: JSHeapUsedSize, TaskDuration, ScriptDuration, LayoutDuration,
// ...), by name. The domain must have been enabled (performance.Enable).
func Metrics(ctx context.Context) (map[string]float64, error) {
	var out map[string]float64
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		ms, err := performance.GetMetrics().Do(ctx)
		if err != nil {
			return err
		}
		out = make(map[string]float64, len(ms))
		for _, m := range ms {
			out[m.Name] = m.Value
		}
		return nil
	}))
	return out, err
}

// Until calls check every 50 ms until it reports true or timeout passes;
// the error then names check's last error.
func Until(timeout time.Duration, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := check()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v (last error: %v)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitJS evaluates cond in the page until it is true or timeout passes.
// An exception counts as false (the element may not be there yet), and so
// does a failed evaluation (the page may be navigating).
func WaitJS(ctx context.Context, cond string, timeout time.Duration) error {
	expr := "(() => { try { return !!(" + cond + ") } catch (e) { return false } })()"
	err := Until(timeout, func() (bool, error) {
		var ok bool
		err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok))
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", cond, err)
	}
	return nil
}
