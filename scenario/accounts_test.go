package scenario

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestAccountsScenario runs testdata/accounts.yaml against a target that
// counts per account and per token: every user logs in once with its own
// row, every later request carries its own token and opens an item of its
// own account (an id it extracted), and the stats count exactly what the
// target received.
func TestAccountsScenario(t *testing.T) {
	t.Parallel()
	const users = 12
	accounts, csv := testenv.Accounts(users)
	tg := testenv.NewAccountTarget(t, accounts)
	dir := t.TempDir()
	writeText(t, dir, "accounts.csv", csv)
	writeFile(t, dir, "accounts.yaml", readTestdata(t, "accounts.yaml"))
	sc, err := Load(filepath.Join(dir, "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(sc.Classes, st, WithHost(tg.URL))
	defer r.Close()
	r.Apply(counts("Shopper", users))
	waitFor(t, "every user's third item", func() bool {
		bt := tg.ByToken()
		if len(bt) < users {
			return false
		}
		for _, m := range bt {
			if m["GET /items/{id}"] < 3 {
				return false
			}
		}
		return true
	})
	// Running users finish their task (both steps), waiting ones stop.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.StopAll(ctx, 5*time.Second)

	for u := range accounts {
		if n := tg.Logins()[u]; n != 1 {
			t.Errorf("account %s logged in %d times, want 1", u, n)
		}
	}
	for tok, m := range tg.ByToken() {
		if m["GET /items"] != m["GET /items/{id}"] {
			t.Errorf("token %s: %d lists but %d items (each task does one of each)", tok, m["GET /items"], m["GET /items/{id}"])
		}
	}
	if ref := tg.Refused(); len(ref) != 0 {
		t.Errorf("the target refused requests: %v", ref)
	}
	if s := tg.Sizes(); len(s) != 1 || s["2"] == 0 {
		t.Errorf("sizes asked for: %v, want only the vars' 2", s)
	}
	got := map[string]int{}
	for _, rc := range st.all() {
		if rc.fail {
			t.Errorf("%s %s failed: %s", rc.method, rc.name, rc.err)
		}
		got[rc.method+" "+rc.name]++
	}
	ep := tg.Endpoints()
	for name, endpoint := range map[string]string{
		"POST /login": "POST /login", "GET /items?size=${page_size}": "GET /items", "GET /items/${item}": "GET /items/{id}",
	} {
		if got[name] != ep[endpoint] || got[name] == 0 {
			t.Errorf("%s: stats %d, target %d (want equal and > 0)", name, got[name], ep[endpoint])
		}
	}
}

// readTestdata reads a file of testdata.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
