// Package scenarios holds example YAML scenarios (see README.md). Its tests
// run each of them for real against the demo shop (internal/demotarget)
// and compare what the shop received with what the scenario recorded.
package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glocust/glocust/internal/demotarget"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExamplesParse loads every YAML file of this directory, so that an
// example that no longer parses fails the tests, and checks that each one
// has a test that runs it.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d example scenarios (%v), want 5 at least", len(files), files)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		sc, err := scenario.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(sc.Classes) == 0 {
			t.Errorf("%s: no user class", f)
		}
		if !ranByTest[f] {
			t.Errorf("%s: no test runs it (add one to scenarios_test.go and to ranByTest)", f)
		}
		if !strings.Contains(string(readme), "("+f+")") {
			t.Errorf("%s: README.md does not link it", f)
		}
	}
}

// ranByTest lists the examples the tests below run.
var ranByTest = map[string]bool{
	"login-token-csv.yaml":   true,
	"browse-cart.yaml":       true,
	"accepted-statuses.yaml": true,
	"search-signup.yaml":     true,
	"token-refresh.yaml":     true,
}

// TestUsersCSV checks that users.csv holds accounts of the demo shop.
func TestUsersCSV(t *testing.T) {
	b, err := os.ReadFile("users.csv")
	if err != nil {
		t.Fatal(err)
	}
	accounts := demotarget.DefaultAccounts()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "username,password" {
		t.Fatalf("users.csv header %q", lines[0])
	}
	for i, l := range lines[1:] {
		u, p, _ := strings.Cut(l, ",")
		if accounts[u] == "" || accounts[u] != p {
			t.Errorf("users.csv:%d: %q is not an account of the demo shop", i+2, l)
		}
	}
}

// entry counts what the scenario recorded for one (method, name).
type entry struct {
	requests, failures int
	errors             map[string]int
}

// recorder is a scenario.Stats that keeps every entry.
type recorder struct {
	mu sync.Mutex
	m  map[string]*entry // "METHOD name"
}

type recEntry struct {
	r   *recorder
	key string
}

func (r *recorder) Lookup(method, name string) scenario.EntryRecorder {
	return recEntry{r, method + " " + name}
}

func (e recEntry) Record(time.Time, time.Duration, int64) { e.add("") }

func (e recEntry) RecordFailure(_ time.Time, _ time.Duration, _ int64, err string) {
	if err == "" {
		err = "(empty)"
	}
	e.add(err)
}

func (e recEntry) add(err string) {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	if e.r.m == nil {
		e.r.m = map[string]*entry{}
	}
	en := e.r.m[e.key]
	if en == nil {
		en = &entry{errors: map[string]int{}}
		e.r.m[e.key] = en
	}
	en.requests++
	if err != "" {
		en.failures++
		en.errors[err]++
	}
}

func (r *recorder) snapshot() map[string]entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]entry, len(r.m))
	for k, v := range r.m {
		out[k] = *v
	}
	return out
}

// run is one bounded run of an example.
type run struct {
	file  string
	cfg   demotarget.Config
	users int
	// done says when the run has done enough (from counts of any status,
	// so that a broken example fails the checks, not the wait); until then
	// it runs, for 30 s at most.
	done func(demotarget.Stats) bool
	// edit, when set, rewrites the example's text before it is parsed
	// (e.g. to shorten a think); it fails the test if it changes nothing.
	edit func(string) string
	// started, when set, is called with the shop's URL once it serves.
	started func(url string)
}

// result is what a run recorded and what the shop received.
type result struct {
	shop  demotarget.Stats
	stats map[string]entry
	exc   []string
}

// runExample runs the example's first class with rn.users users against a
// new shop (logging every authorized request) until rn.done holds, stops
// the users, letting each finish its task, and returns the counts of both
// sides. The examples' wait times are replaced by 2 ms, and their text
// edited by rn.edit.
func runExample(t *testing.T, rn run) result {
	t.Helper()
	rn.cfg.Log = true
	shop, err := demotarget.Start("127.0.0.1:0", rn.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	if rn.started != nil {
		rn.started(shop.URL)
	}
	src, err := os.ReadFile(rn.file)
	if err != nil {
		t.Fatal(err)
	}
	if rn.edit != nil {
		edited := rn.edit(string(src))
		if edited == string(src) {
			t.Fatalf("%s: the test's edit changed nothing", rn.file)
		}
		src = []byte(edited)
	}
	sc, err := scenario.Parse(rn.file, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sc.Classes {
		c.WaitTime = scenario.Constant(2 * time.Millisecond)
	}
	rec := &recorder{}
	var mu sync.Mutex
	var exc []string
	r := scenario.NewRunner(sc.Classes, rec, scenario.WithHost(shop.URL),
		scenario.WithExceptionHandler(func(msg, _ string) { mu.Lock(); exc = append(exc, msg); mu.Unlock() }))
	defer r.Close()
	r.SetHost(shop.URL)
	r.Apply([]protocol.ClassCount{{Class: sc.Classes[0].Name, Count: int64(rn.users)}})
	deadline := time.Now().Add(30 * time.Second)
	for !rn.done(shop.Stats()) {
		if time.Now().After(deadline) {
			r.Close()
			st := shop.Stats()
			t.Fatalf("%s: not done after 30 s; the shop's counts: %v; recorded: %v", rn.file, st.Endpoints, rec.snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.StopAll(ctx, 20*time.Second)
	if n := r.UserCount(); n != 0 {
		t.Fatalf("%d users still running after StopAll", n)
	}
	mu.Lock()
	defer mu.Unlock()
	return result{shop: shop.Stats(), stats: rec.snapshot(), exc: exc}
}

// statuses counts the shop's answers of endpoint whose status is in codes
// (none: every status).
func statuses(st demotarget.Stats, endpoint string, codes ...int) int {
	n := 0
	for c, k := range st.Endpoints[endpoint] {
		if len(codes) == 0 || slices.Contains(codes, c) {
			n += k
		}
	}
	return n
}

// checkEndpoints compares the recorded stats with the shop's counts per
// endpoint: names maps each recorded "METHOD name" to the shop's endpoint
// (several names may share one); for every endpoint the recorded requests
// must equal the requests the shop received, and the recorded failures
// failures[endpoint] (0 when absent). Every recorded name and every
// endpoint the shop saw must be in names, and every name must have been
// recorded.
func checkEndpoints(t *testing.T, res result, names map[string]string, failures map[string]int) {
	t.Helper()
	if len(res.exc) != 0 {
		t.Errorf("user exceptions: %q", res.exc)
	}
	reqs, fails := map[string]int{}, map[string]int{}
	for key, e := range res.stats {
		ep, ok := names[key]
		if !ok {
			t.Errorf("recorded %q, which the test does not expect (%d requests)", key, e.requests)
			continue
		}
		reqs[ep] += e.requests
		fails[ep] += e.failures
	}
	for key := range names {
		if res.stats[key].requests == 0 {
			t.Errorf("%s: nothing recorded", key)
		}
	}
	eps := map[string]bool{}
	for _, ep := range names {
		eps[ep] = true
	}
	for ep := range res.shop.Endpoints {
		if !eps[ep] {
			t.Errorf("the shop received %v on %s, which the example does not call", res.shop.Endpoints[ep], ep)
		}
	}
	for ep := range eps {
		if got, want := reqs[ep], statuses(res.shop, ep); got != want {
			t.Errorf("%s: recorded %d requests, the shop received %d", ep, got, want)
		}
		if got, want := fails[ep], failures[ep]; got != want {
			t.Errorf("%s: recorded %d failures, want %d (the shop's answers: %v)", ep, got, want, res.shop.Endpoints[ep])
		}
	}
	if t.Failed() {
		t.Logf("recorded: %v", res.stats)
	}
}

// sameNames maps "METHOD name" to itself as the shop's endpoint.
func sameNames(keys ...string) map[string]string {
	m := map[string]string{}
	for _, k := range keys {
		m[k] = k
	}
	return m
}

// checkLogins checks that the users logged in with distinct accounts, each
// account logins times (0: at least once), and that every authorized
// request carried a token of its account: the log's tokens are the
// account's own and no request was refused for its token.
func checkLogins(t *testing.T, st demotarget.Stats, users, logins int) {
	t.Helper()
	checkAccounts(t, st, users, logins)
	if len(st.Unauthorized) != 0 {
		t.Errorf("the shop refused requests: %v", st.Unauthorized)
	}
}

// checkAccounts is checkLogins without its check that the shop refused
// nothing: the log's tokens (of authorized requests and of requests
// refused as expired) are the account's own.
func checkAccounts(t *testing.T, st demotarget.Stats, users, logins int) {
	t.Helper()
	if len(st.Accounts) != users {
		t.Errorf("%d accounts used, want %d (one per user): %v", len(st.Accounts), users, keys(st.Accounts))
	}
	for name, a := range st.Accounts {
		if (logins > 0 && a.Logins != logins) || a.Logins == 0 || a.FailedLogins != 0 {
			t.Errorf("account %s: %d logins, %d failed, want %d", name, a.Logins, a.FailedLogins, logins)
		}
	}
	for name, log := range st.Log {
		for _, ev := range log {
			if owner := st.Tokens[ev.Token].Account; owner != name {
				t.Errorf("account %s: %s carried a token of %q", name, ev.Endpoint, owner)
				break
			}
		}
	}
	if statuses(st, "POST /login", 200) != len(st.Tokens) {
		t.Errorf("%d logins but %d tokens", statuses(st, "POST /login", 200), len(st.Tokens))
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestLoginTokenCSV runs login-token-csv.yaml: each user logs in once
// with its own row of users.csv, and every later request carries the
// token of that login.
func TestLoginTokenCSV(t *testing.T) {
	t.Parallel()
	const users = 6
	res := runExample(t, run{file: "login-token-csv.yaml", users: users, done: func(st demotarget.Stats) bool {
		return st.Count("POST /checkout") >= 3*users && st.Count("GET /search") >= 2*users
	}})
	st := res.shop
	checkEndpoints(t, res, sameNames("POST /login", "GET /items", "GET /search", "POST /cart", "POST /checkout"), nil)
	checkLogins(t, st, users, 1)
	for _, name := range keys(st.Accounts) {
		if !strings.HasPrefix(name, "shopper") {
			t.Errorf("account %q is not from users.csv", name)
		}
		// One login, one token: every authorized request used it.
		var tok string
		for k, ts := range st.Tokens {
			if ts.Account == name {
				tok = k
			}
		}
		authorized := 0
		for ep, n := range st.Accounts[name].Endpoints {
			if ep != "POST /login" {
				authorized += n
			}
		}
		if authorized == 0 || st.Tokens[tok].Uses != authorized {
			t.Errorf("account %s: token used %d times, %d authorized requests", name, st.Tokens[tok].Uses, authorized)
		}
	}
	// Only the login goes without a token.
	if a := st.Anonymous; len(a) != 1 || a["POST /login"] != users {
		t.Errorf("requests without a token: %v, want only the %d logins", a, users)
	}
}

// TestBrowseCart runs browse-cart.yaml: per user, the shop sees list,
// detail of an id of that list, add of that item (after the think: its
// 1 to 4 s are made 10 to 20 ms), checkout of it, in this order, over and
// over. The checkout's fail_if, the total against the page's price, never
// holds: the user's cart is its own.
func TestBrowseCart(t *testing.T) {
	t.Parallel()
	const users = 5
	const think = 10 * time.Millisecond
	res := runExample(t, run{file: "browse-cart.yaml", users: users, done: func(st demotarget.Stats) bool {
		return st.Count("POST /checkout") >= 4*users
	}, edit: func(s string) string {
		return strings.Replace(s, "think: {between: [1, 4]}", "think: {between: [0.01, 0.02]}", 1)
	}})
	st := res.shop
	checkEndpoints(t, res, sameNames("POST /login", "GET /items", "GET /items/{id}", "POST /cart", "POST /checkout"), nil)
	checkLogins(t, st, users, 1)
	order := []string{"GET /items", "GET /items/{id}", "POST /cart", "POST /checkout"}
	picked := map[int]int{}
	for name, log := range st.Log {
		if len(log)%4 != 0 {
			t.Errorf("account %s: %d requests, not whole tasks of 4", name, len(log))
			continue
		}
		for i := 0; i < len(log); i += 4 {
			list, detail, cart, checkout := log[i], log[i+1], log[i+2], log[i+3]
			for j, ev := range log[i : i+4] {
				if ev.Endpoint != order[j] || ev.Status != 200 {
					t.Fatalf("account %s: request %d is %s (%d), want %s (200); log %v", name, i+j, ev.Endpoint, ev.Status, order[j], log[i:i+4])
				}
			}
			if !slices.Contains(list.Items, detail.Item) || slices.Contains(demotarget.SoldOut, detail.Item) {
				t.Errorf("account %s: detail of %d, not in the list %v", name, detail.Item, list.Items)
			}
			if cart.Item != detail.Item || !slices.Equal(checkout.Items, []int{cart.Item}) {
				t.Errorf("account %s: detail %d, cart %d, checkout %v", name, detail.Item, cart.Item, checkout.Items)
			}
			if gap := cart.Time.Sub(detail.Time); gap < think {
				t.Errorf("account %s: the cart %v after the detail, want the think's %v at least", name, gap, think)
			}
			picked[detail.Item]++
		}
	}
	if st.Orders != statuses(st, "POST /checkout", 200) {
		t.Errorf("%d orders, %d checkouts", st.Orders, statuses(st, "POST /checkout", 200))
	}
	// pick: random spreads over the list (20 picks at least from 10 ids).
	if len(picked) < 2 {
		t.Errorf("picked items %v: always the same", picked)
	}
}

// TestBrowseCartForeignItem runs browse-cart.yaml with one user while
// the test, logged in to the same account, adds another item to its cart
// during the user's think (made 0.5 to 0.6 s), three times: the user's add then finds two
// items in the cart (its expect_json count: 1 fails) and the checkout
// orders both, so its total is not the page's price and fail_if fails it
// with the example's message. The expected failures come from the shop's
// log of the account (who added what, in which order).
func TestBrowseCartForeignItem(t *testing.T) {
	t.Parallel()
	const injections = 3
	var (
		c        *client
		account  string
		mine     string // the test's token
		injected int
		lastAt   = -1 // the log's length at the last injection
	)
	price := func(id int) float64 {
		for _, it := range demotarget.Catalog {
			if it.ID == id {
				return it.Price
			}
		}
		t.Fatalf("no item %d", id)
		return 0
	}
	res := runExample(t, run{file: "browse-cart.yaml", users: 1, started: func(url string) { c = &client{t: t, base: url} }, edit: func(s string) string {
		return strings.Replace(s, "think: {between: [1, 4]}", "think: {between: [0.5, 0.6]}", 1)
	}, done: func(st demotarget.Stats) bool {
		if account == "" {
			for name, a := range st.Accounts {
				if a.Logins > 0 {
					pw, ok := demotarget.DefaultPassword(name)
					if !ok {
						t.Fatalf("account %q is no default one", name)
					}
					account = name
					mine = c.login(name, pw)
				}
			}
			return false
		}
		log := st.Log[account]
		if n := len(log); injected < injections && n > lastAt && n > 0 {
			if last := log[n-1]; last.Endpoint == "GET /items/{id}" && last.Status == 200 && last.Token != mine {
				other := 1
				for other == last.Item || slices.Contains(demotarget.SoldOut, other) {
					other++
				}
				c.do("POST", "/cart", mine, fmt.Sprintf(`{"item_id":%d}`, other), 200, `"count":1`)
				injected++
				lastAt = n + 1
			}
		}
		// Done when the user checked out after the last injection.
		return injected == injections && len(log) > lastAt && slices.ContainsFunc(log[lastAt:], func(ev demotarget.Event) bool {
			return ev.Endpoint == "POST /checkout"
		})
	}})
	st := res.shop
	if len(res.exc) != 0 {
		t.Errorf("user exceptions: %q", res.exc)
	}
	// The expected failures, from the log: a user's add to a cart that
	// holds the test's item, a user's checkout whose total is not the
	// price of the item it opened.
	var cartFails, checkouts int
	wantMsgs := map[string]int{}
	foreign, detail := 0, 0
	for _, ev := range st.Log[account] {
		switch {
		case ev.Token == mine:
			foreign++
		case ev.Endpoint == "GET /items/{id}":
			detail = ev.Item
		case ev.Endpoint == "POST /cart" && ev.Status == 200 && foreign > 0:
			cartFails++
		case ev.Endpoint == "POST /checkout" && ev.Status == 200:
			checkouts++
			total := 0.0
			for _, id := range ev.Items {
				total += price(id)
			}
			total = float64(int(total*100+0.5)) / 100
			if total != price(detail) {
				wantMsgs[fmt.Sprintf("total %v, the page said %v", total, price(detail))]++
			}
			foreign = 0
		}
	}
	// An add of the test's that lands after the user's own add (a poll
	// late by the whole think, on a loaded machine) fails the checkout
	// instead of the add: what is expected comes from the log, and either
	// effect must show.
	if cartFails == 0 && len(wantMsgs) == 0 {
		t.Errorf("no add after the test's and no checkout failing fail_if (log %v)", st.Log[account])
	} else if cartFails != injections {
		t.Logf("%d of the %d adds of the test's came before the user's add", cartFails, injections)
	}
	cart, checkout := res.stats["POST /cart"], res.stats["POST /checkout"]
	if cart.failures != cartFails || cart.errors["expect_json: count is 2, want 1"] != cartFails {
		t.Errorf("POST /cart: %d failures %v, want %d × count 2", cart.failures, cart.errors, cartFails)
	}
	gotMsgs := map[string]int{}
	order := regexp.MustCompile(`^order [1-9][0-9]*: `)
	for msg, n := range checkout.errors {
		if !order.MatchString(msg) {
			t.Errorf("POST /checkout failed with %q", msg)
		}
		gotMsgs[order.ReplaceAllString(msg, "")] += n
	}
	if fmt.Sprint(gotMsgs) != fmt.Sprint(wantMsgs) {
		t.Errorf("POST /checkout's fail_if messages %v, want %v", gotMsgs, wantMsgs)
	}
	// The stats count the user's requests: the shop's, but the test's.
	for ep, own := range map[string]int{"POST /login": 1, "POST /cart": injections, "GET /items": 0, "GET /items/{id}": 0, "POST /checkout": 0} {
		if got, want := res.stats[ep].requests, statuses(st, ep)-own; got != want {
			t.Errorf("%s: recorded %d, the shop received %d from the user", ep, got, want)
		}
	}
	if checkout.requests != checkouts || st.Orders != checkouts {
		t.Errorf("%d checkouts recorded, %d answered 200, %d orders", checkout.requests, checkouts, st.Orders)
	}
}

// TestAcceptedStatuses runs accepted-statuses.yaml: its 404s and 409s are
// successes, and its `in_stock: true` check fails exactly for the
// sold-out items' pages the shop served.
func TestAcceptedStatuses(t *testing.T) {
	t.Parallel()
	const users = 4
	res := runExample(t, run{file: "accepted-statuses.yaml", users: users, done: func(st demotarget.Stats) bool {
		soldOut := 0
		for _, id := range demotarget.SoldOut {
			soldOut += st.Details[id]
		}
		return st.Count("POST /checkout") >= 2*users && soldOut >= 2 &&
			st.Count("GET /items/{id}") >= 20 && st.Count("POST /cart") >= 8*users
	}})
	st := res.shop
	soldOut := 0
	for _, id := range demotarget.SoldOut {
		soldOut += st.Details[id]
	}
	checkEndpoints(t, res, map[string]string{
		"POST /login": "POST /login", "GET /items": "GET /items",
		"GET /items/{id}": "GET /items/{id}", "GET /items/{id} (missing)": "GET /items/{id}",
		"POST /cart": "POST /cart", "POST /cart (again)": "POST /cart", "POST /cart (sold out)": "POST /cart",
		"POST /checkout": "POST /checkout",
	}, map[string]int{"GET /items/{id}": soldOut})
	checkLogins(t, st, users, 1)

	// Each name's count is what the shop answered: the 404s are the
	// missing items, the first add 200 and the second 409, the sold-out
	// add 409.
	var add, again, sold int
	for _, log := range st.Log {
		for _, ev := range log {
			switch {
			case ev.Endpoint != "POST /cart":
			case ev.Item == 3 && ev.Status == 200:
				add++
			case ev.Item == 3 && ev.Status == 409:
				again++
			case ev.Item == 7 && ev.Status == 409:
				sold++
			default:
				t.Errorf("unexpected cart answer %+v", ev)
			}
		}
	}
	for key, want := range map[string]int{
		"GET /items/{id} (missing)": statuses(st, "GET /items/{id}", 404),
		"GET /items/{id}":           statuses(st, "GET /items/{id}", 200),
		"POST /cart":                add, "POST /cart (again)": again, "POST /cart (sold out)": sold,
	} {
		if got := res.stats[key].requests; got != want || want == 0 {
			t.Errorf("%s: recorded %d, the shop answered %d (want equal and > 0)", key, got, want)
		}
	}
	for key, e := range res.stats {
		if key != "GET /items/{id}" && e.failures != 0 {
			t.Errorf("%s: %d failures: %v", key, e.failures, e.errors)
		}
	}
	want := "expect_json: in_stock is false, want true"
	if e := res.stats["GET /items/{id}"]; e.errors[want] != soldOut || len(e.errors) != 1 {
		t.Errorf("GET /items/{id} errors %v, want %d × %q", e.errors, soldOut, want)
	}
}

// TestSearchSignup runs search-signup.yaml: search terms from its
// weighted list, in about its proportions, and per sign-up two requests
// with the same new fake email, 201 then 409. The scenario's seed makes
// the emails repeatable: a second run sends the same ones per user.
func TestSearchSignup(t *testing.T) {
	t.Parallel()
	const users = 5
	// The terms and their weights in the example's wchoice.
	weights := map[string]int{"coffee": 4, "tea": 2, "espresso": 2, "grinder": 1, "teapot": 1}
	runOnce := func() result {
		return runExample(t, run{file: "search-signup.yaml", users: users, done: func(st demotarget.Stats) bool {
			// 200 searches: the least likely terms (1 in 10) have
			// 1 - 0.9^200 chances to be among them.
			return st.Count("GET /search") >= 200 && len(st.Signups) >= 10
		}})
	}
	res := runOnce()
	st := res.shop
	checkEndpoints(t, res, map[string]string{
		"GET /search": "GET /search", "POST /signup": "POST /signup", "POST /signup (same email)": "POST /signup",
	}, nil)
	if got := keys(st.Searches); !slices.Equal(got, keys(weights)) {
		t.Errorf("searched for %v, want %v", got, keys(weights))
	}
	// Each term's share is within 0.08 of its weight's (over 200 draws
	// at least, a share's standard deviation is 0.035 at most); coffee,
	// weighing twice any other, is the most searched.
	searches := statuses(st, "GET /search")
	for term, w := range weights {
		share, want := float64(st.Searches[term])/float64(searches), float64(w)/10
		if share < want-0.08 || share > want+0.08 {
			t.Errorf("%s: %d of %d searches (%.3f), want %.1f ± 0.08", term, st.Searches[term], searches, share, want)
		}
		if term != "coffee" && st.Searches[term] >= st.Searches["coffee"] {
			t.Errorf("%s searched %d times, coffee %d: want coffee the most", term, st.Searches[term], st.Searches["coffee"])
		}
	}
	t.Logf("searches: %v", st.Searches)
	// email(): first.last.<user id>.<6 digits>@example.com, the names in
	// lower case, letters only.
	email := regexp.MustCompile(`^[a-z]+\.[a-z]+\.([1-9][0-9]*)\.[0-9]{6}@example\.com$`)
	for e, n := range st.Signups {
		m := email.FindStringSubmatch(e)
		if id := 0; m != nil {
			id, _ = strconv.Atoi(m[1])
			if id > users {
				m = nil
			}
		}
		if n != 2 || m == nil {
			t.Errorf("email %q signed up %d times, want twice (new, then refused) and the form of email() for users 1 to %d", e, n, users)
		}
	}
	created, taken := statuses(st, "POST /signup", 201), statuses(st, "POST /signup", 409)
	if created != len(st.Signups) || taken != created {
		t.Errorf("%d emails, %d created, %d refused as taken", len(st.Signups), created, taken)
	}
	if res.stats["POST /signup"].requests != created || res.stats["POST /signup (same email)"].requests != taken {
		t.Errorf("recorded %v", res.stats)
	}
	if len(st.Tokens) != 0 {
		t.Errorf("anonymous visitors logged in: %d tokens", len(st.Tokens))
	}

	// Seeded: user n draws the same values in the same order in a second
	// run. How many tasks each user ran differs, so of two runs' emails
	// of a user, one run's are some of the other's.
	perUser := func(st demotarget.Stats) map[string][]string {
		m := map[string][]string{}
		for e := range st.Signups {
			if sm := email.FindStringSubmatch(e); sm != nil {
				m[sm[1]] = append(m[sm[1]], e)
			}
		}
		return m
	}
	again := runOnce()
	a, b, common := perUser(st), perUser(again.shop), 0
	for u := range users {
		id := fmt.Sprint(u + 1)
		small, large := a[id], b[id]
		if len(small) > len(large) {
			small, large = large, small
		}
		for _, e := range small {
			if !slices.Contains(large, e) {
				t.Errorf("user %s: email %s in one run only (of %d and %d emails)", id, e, len(a[id]), len(b[id]))
				break
			} else {
				common++
			}
		}
	}
	if common < users {
		t.Errorf("%d emails in both runs, want %d at least", common, users)
	}
}

// TestTokenRefresh runs token-refresh.yaml against a shop whose tokens
// expire after 5 uses: each user logs in once in on_start, and every
// request the shop refuses as token_expired is recorded as a failure, then
// the user logs in again (refresh: steps: on_start) and sends the same
// request once more with the new token (retry: true).
func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	const users, uses = 4, 5
	res := runExample(t, run{file: "token-refresh.yaml", users: users, cfg: demotarget.Config{TokenUses: uses},
		done: func(st demotarget.Stats) bool { return st.Count("POST /checkout") >= 4*users }})
	st := res.shop
	eps := []string{"POST /login", "GET /items", "GET /items/{id}", "POST /cart", "POST /checkout"}
	// The expected failures are the shop's 401s, endpoint by endpoint
	// (none on /login).
	failures := map[string]int{}
	for _, ep := range eps {
		failures[ep] = statuses(st, ep, 401)
	}
	checkEndpoints(t, res, sameNames(eps...), failures)
	checkAccounts(t, st, users, 0)
	t.Logf("the shop's answers: %v", st.Endpoints)
	// Every 401 is a token that ran out (the run goes on until 16
	// checkouts, after some 60 authorized requests from 4 users whose
	// tokens serve 5 each), and some did.
	if len(st.Unauthorized) != 1 || st.Unauthorized["token_expired"] == 0 {
		t.Errorf("the shop's 401s by reason: %v, want token_expired only, and some", st.Unauthorized)
	}
	for _, name := range keys(st.Log) {
		log, refused := st.Log[name], 0
		for i, ev := range log {
			if ev.Status != 401 {
				continue
			}
			refused++
			// The retry: the same endpoint, with the new token, accepted.
			if i+1 == len(log) {
				t.Errorf("account %s: %s refused (token %.8s) and not followed by its retry", name, ev.Endpoint, ev.Token)
				continue
			}
			if next := log[i+1]; next.Endpoint != ev.Endpoint || next.Token == ev.Token || next.Status != 200 {
				t.Errorf("account %s: %s refused (token %.8s) and not followed by its retry: next %s, status %d, token %.8s",
					name, ev.Endpoint, ev.Token, next.Endpoint, next.Status, next.Token)
			}
		}
		// A login in on_start, then one per refused request.
		if a := st.Accounts[name]; a.Logins != 1+refused {
			t.Errorf("account %s: %d logins, %d requests refused: want 1 + %d", name, a.Logins, refused, refused)
		}
	}
	// A token serves until it runs out: never more than its limit, and
	// exactly its limit when it was refused (the account's last token may
	// have served fewer).
	expired := map[string]bool{}
	for _, log := range st.Log {
		for _, ev := range log {
			if ev.Status == 401 {
				expired[ev.Token] = true
			}
		}
	}
	for tok, ts := range st.Tokens {
		if ts.Uses > uses || (expired[tok] && ts.Uses != uses) {
			t.Errorf("token %.8s of %s used %d times (refused afterwards: %v), limit %d", tok, ts.Account, ts.Uses, expired[tok], uses)
		}
	}
	// Each task orders once: retries add no second order.
	orders, checkouts, lists := st.Orders, statuses(st, "POST /checkout", 200), statuses(st, "GET /items", 200)
	if orders != checkouts || checkouts != lists {
		t.Errorf("%d orders, %d checkouts, %d lists (answered 200): want one of each per task", orders, checkouts, lists)
	}
	// Only the logins go without a token.
	if a := st.Anonymous; len(a) != 1 || a["POST /login"] != statuses(st, "POST /login", 200) {
		t.Errorf("requests without a token: %v, want only the %d logins", a, statuses(st, "POST /login", 200))
	}
}

// TestDemoShopRefuses checks the shop's refusals that the examples rely
// on, request by request: wrong passwords, missing, unknown and expired
// tokens (by uses and by time), unknown items, conflicts.
func TestDemoShopRefuses(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	shop, err := demotarget.Start("127.0.0.1:0", demotarget.Config{TokenUses: 2, TokenTTL: time.Minute, Log: true,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	c := &client{t: t, base: shop.URL}
	c.do("POST", "/login", "", `{"username":"shopper1","password":"nope"}`, 401, "invalid_credentials")
	tok := c.login("shopper1", "secret1")
	c.do("POST", "/cart", "", `{"item_id":1}`, 401, "missing_token")
	c.do("POST", "/cart", "bogus", `{"item_id":1}`, 401, "invalid_token")
	c.do("POST", "/cart", tok, `{"item_id":"1"}`, 200, `"count":1`)
	c.do("POST", "/cart", tok, `{"item_id":1}`, 409, "already_in_cart")
	c.do("POST", "/cart", tok, `{"item_id":1}`, 401, "token_expired")
	tok2 := c.login("shopper1", "secret1")
	c.do("POST", "/cart", tok2, `{"item_id":7}`, 409, "out_of_stock")
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	c.do("POST", "/checkout", tok2, "", 401, "token_expired")
	tok3 := c.login("shopper1", "secret1")
	c.do("POST", "/checkout", tok3, "", 200, `"status":"confirmed"`)
	c.do("POST", "/checkout", tok3, "", 409, "empty_cart")
	c.do("GET", "/items/99", "", "", 404, "not_found")
	c.do("GET", "/items?in_stock=true", "", "", 200, `"count":10`)
	c.do("GET", "/search?q=TEA", "", "", 200, `"count":2`)
	c.do("GET", "/search?q=teapot", "", "", 200, `"results":[]`)
	c.do("POST", "/signup", "", `{"name":"A","email":"a@example.test"}`, 201, `"id":1`)
	c.do("POST", "/signup", "", `{"name":"A","email":"A@example.test"}`, 409, "email_taken")
	c.do("POST", "/signup", "", `{"name":"A","email":"a.example.test"}`, 400, "invalid")
	c.do("GET", "/nowhere", "", "", 404, "not_found")
	st := shop.Stats()
	want := map[string]int{"invalid_credentials": 1, "missing_token": 1, "invalid_token": 1, "token_expired": 2}
	if fmt.Sprint(st.Unauthorized) != fmt.Sprint(want) {
		t.Errorf("401s %v, want %v", st.Unauthorized, want)
	}
	if st.Count("POST /cart") != 6 || st.Endpoints["POST /cart"][409] != 2 || st.Orders != 1 || st.Count("other") != 1 {
		t.Errorf("counts %v, orders %d", st.Endpoints, st.Orders)
	}
	// The log holds the requests with shopper1's tokens: authorized, and
	// refused as expired.
	var got []string
	for _, ev := range st.Log["shopper1"] {
		got = append(got, fmt.Sprintf("%s %d", ev.Endpoint, ev.Status))
	}
	if want := "[POST /cart 200 POST /cart 409 POST /cart 401 POST /cart 409 POST /checkout 401 POST /checkout 200 POST /checkout 409]"; fmt.Sprint(got) != want {
		t.Errorf("shopper1's log %v, want %s", got, want)
	}
	if a := st.Accounts["shopper1"]; a.Logins != 3 || a.FailedLogins != 1 || a.Endpoints["POST /cart"] != 3 {
		t.Errorf("shopper1: %+v", a)
	}
}

// client sends single requests to the shop.
type client struct {
	t    *testing.T
	base string
}

// do sends a request (a Bearer token unless tok is empty) and checks the
// status and that the body contains want.
func (c *client) do(method, path, tok, body string, status int, want string) string {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != status || !strings.Contains(string(b), want) {
		c.t.Errorf("%s %s: %d %s, want %d with %q", method, path, resp.StatusCode, b, status, want)
	}
	return string(b)
}

func (c *client) login(user, password string) string {
	c.t.Helper()
	b := c.do("POST", "/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, password), 200, `"token"`)
	var out struct{ Token string }
	if err := json.Unmarshal([]byte(b), &out); err != nil || out.Token == "" {
		c.t.Fatalf("login: %s (%v)", b, err)
	}
	return out.Token
}
