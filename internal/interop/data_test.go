package interop

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// accountsRun is a run of scenario/testdata/accounts.yaml by two glocust
// workers: each user logs in with its own row of a CSV of accounts.
type accountsRun struct {
	c      *cluster
	target *testenv.AccountTarget
	yaml   string // the scenario, next to accounts.csv (the workers')
	bare   string // the same scenario in a directory without the CSV (a master's)
}

const accountsUsers = 10

func newAccountsRun(t *testing.T) *accountsRun {
	t.Helper()
	accounts, csv := testenv.Accounts(accountsUsers)
	a := &accountsRun{c: newCluster(t), target: testenv.NewAccountTarget(t, accounts)}
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "scenario", "testdata", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a.yaml = writeTestFile(t, filepath.Join(t.TempDir(), "accounts.yaml"), src)
	writeTestFile(t, filepath.Join(filepath.Dir(a.yaml), "accounts.csv"), []byte(csv))
	a.bare = writeTestFile(t, filepath.Join(t.TempDir(), "accounts.yaml"), src)
	return a
}

func writeTestFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (a *accountsRun) worker() *testenv.Process {
	return testenv.Start(a.c.t, testenv.Command{Path: a.c.glocust, Dir: a.c.dir, Args: []string{"--worker", "-f", a.yaml,
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(a.c.port)}})
}

// headless are the master's options of both runs: every user starts at
// once, and the stop lets running users finish their task.
func (a *accountsRun) headless(csv string) []string {
	return []string{"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(a.c.port), "-H", a.target.URL,
		"--headless", "--expect-workers", "2", "-u", strconv.Itoa(accountsUsers), "-r", strconv.Itoa(accountsUsers),
		"-t", "4s", "-s", "5", "--csv", csv, "--exit-code-on-error", "0"}
}

// finish starts two workers under the master m, waits for the run to end
// and checks it.
func (a *accountsRun) finish(t *testing.T, m *testenv.Process, csv, size string) {
	t.Helper()
	w1, w2 := a.worker(), a.worker()
	mustExit(t, m, 60*time.Second, 0)
	mustExit(t, w1, 15*time.Second, 0)
	mustExit(t, w2, 15*time.Second, 0)
	cleanMasterLog(t, m)
	a.check(t, csv, size)
}

// check checks the run: one login per account (rows are unique across the
// two workers), each token's lists and items equal (each user opens items
// of its own account, with ids it extracted), the page size from the
// master, and the master's counts equal to the target's.
func (a *accountsRun) check(t *testing.T, csv, size string) {
	t.Helper()
	for i := 1; i <= accountsUsers; i++ {
		u := "user" + strconv.Itoa(i)
		if n := a.target.Logins()[u]; n != 1 {
			t.Errorf("account %s logged in %d times, want 1 (all: %v)", u, n, a.target.Logins())
		}
	}
	for tok, m := range a.target.ByToken() {
		if m["GET /items"] == 0 || m["GET /items"] != m["GET /items/{id}"] {
			t.Errorf("token %s: %d lists, %d items (want equal and > 0)", tok, m["GET /items"], m["GET /items/{id}"])
		}
	}
	if ref := a.target.Refused(); len(ref) != 0 {
		t.Errorf("the target refused requests: %v", ref)
	}
	if s := a.target.Sizes(); len(s) != 1 || s[size] == 0 {
		t.Errorf("page sizes asked for: %v, want only %s", s, size)
	}
	got := csvCounts(t, csv+"_stats.csv")
	ep := a.target.Endpoints()
	for name, endpoint := range map[string]string{
		"/login": "POST /login", "/items?size=${page_size}": "GET /items", "/items/${item}": "GET /items/{id}",
	} {
		if got[name][0] != int64(ep[endpoint]) || got[name][1] != 0 {
			t.Errorf("%s: master counted %d requests (%d failed), target received %d", name, got[name][0], got[name][1], ep[endpoint])
		}
	}
}

// TestUniqueDataGlocustMaster runs the accounts scenario on two glocust
// workers under a glocust master that has no copy of the data file and
// sets page_size with --var.
func TestUniqueDataGlocustMaster(t *testing.T) {
	t.Parallel()
	a := newAccountsRun(t)
	csv := filepath.Join(a.c.dir, "run")
	m := testenv.Start(t, testenv.Command{Path: a.c.glocust, Dir: a.c.dir,
		Args: append([]string{"--master", "-f", a.bare, "--var", "page_size=5"}, a.headless(csv)...)})
	a.finish(t, m, csv, "5")
}

// TestUniqueDataLocustMaster runs it under a Locust master whose
// locustfile declares page_size as a custom argument (--page-size 7): the
// workers split the rows by the index Locust gives them and take the
// custom argument from the spawn's parsed_options.
func TestUniqueDataLocustMaster(t *testing.T) {
	t.Parallel()
	a := newAccountsRun(t)
	csv := filepath.Join(a.c.dir, "run")
	m := testenv.Start(t, testenv.Command{Path: a.c.locust, Dir: a.c.dir,
		Args: append([]string{"-f", testdata(t, "accounts_locustfile.py"), "--master", "--page-size", "7"}, a.headless(csv)...)})
	a.finish(t, m, csv, "7")
}

// TestUniqueDataWorkerReplaced kills one of the two workers of a glocust
// master mid-run and starts another at once, as Kubernetes replaces a pod:
// the replacement registers while the master still counts the dead worker,
// so it first has no share; once the master declares the dead one missing,
// it moves the replacement into the freed slot and the replacement's users
// log in with the dead worker's rows. At no time do two running users hold
// one account.
func TestUniqueDataWorkerReplaced(t *testing.T) {
	t.Parallel()
	a := newAccountsRun(t)
	args := a.headless(filepath.Join(a.c.dir, "run"))
	for i, s := range args {
		if s == "-t" {
			args[i+1] = "60s" // ended by SIGTERM below
		}
	}
	m := testenv.Start(t, testenv.Command{Path: a.c.glocust, Dir: a.c.dir, Args: append([]string{"--master", "-f", a.bare}, args...)})
	w1, w2 := a.worker(), a.worker()
	logins := func() (map[string]int, error) { return a.target.Logins(), nil }
	waitUntil(t, "every account logged in", 30*time.Second, logins, func(l map[string]int) bool { return len(l) == accountsUsers })
	kill(t, w2)
	killedAt := time.Now()
	w3 := a.worker()
	// The replacement's users log in with the dead worker's accounts (a
	// second login each) and then use them.
	waitUntil(t, "the replacement's users using the dead worker's accounts", 40*time.Second,
		func() (map[string][]string, error) { return a.target.Active(killedAt), nil },
		func(active map[string][]string) bool {
			n := 0
			for u, c := range a.target.Logins() {
				if c == 2 && len(active[u]) > 0 {
					n++
				}
			}
			return n >= 2
		})
	// Every token used since the kill is a running user's (the dead
	// worker's users are gone): one per account.
	active := a.target.Active(killedAt)
	for u, toks := range active {
		if len(toks) > 1 {
			t.Errorf("account %s is used by %d running users: %v", u, len(toks), toks)
		}
	}
	for u, n := range a.target.Logins() {
		if n > 2 {
			t.Errorf("account %s logged in %d times, want at most 2", u, n)
		}
	}
	stopMaster(t, m, 30*time.Second)
	mustExit(t, w1, 15*time.Second, 0)
	mustExit(t, w3, 15*time.Second, 0)
	if out := m.MustOutput(t); !strings.Contains(out, "takes over data slot") {
		t.Logf("the replacement registered after the dead worker was declared missing (no slot move)")
	}
	if ref := a.target.Refused(); len(ref) != 0 {
		t.Errorf("the target refused requests: %v", ref)
	}
}
