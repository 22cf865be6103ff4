// Package demotarget is the small shop API that "glocust demo" loads and
// that the example scenarios in examples/scenarios run against in their
// tests. It serves on 127.0.0.1 and counts what it received: per endpoint
// and status, per account and per token.
//
// Endpoints (JSON bodies; errors are {"error": code}):
//
//	POST /login          {"username", "password"}: 200 {"token", "expires_in", "max_uses"}, a new
//	                     token per login; 401 invalid_credentials; 400 bad_request
//	GET  /items          200 {"items": [{"id", "name", "price", "in_stock"}], "count"};
//	                     ?in_stock=true: only the items in stock
//	GET  /items/{id}     200 {"id", "name", "price", "stock", "in_stock", "description"};
//	                     404 not_found for an unknown id
//	POST /cart           {"item_id"} (a number or a numeric string), token needed: 200 {"cart", "count"};
//	                     409 already_in_cart or out_of_stock; 404 not_found; 400 bad_request
//	POST /checkout       token needed: 200 {"order_id", "status": "confirmed", "items", "total"};
//	                     409 empty_cart
//	GET  /search?q=      200 {"query", "results": [{"id", "name", "price"}], "count"}, items whose
//	                     name contains q (any case), maybe none; 400 bad_request without q
//	POST /signup         {"name", "email"}: 201 {"id", "name", "email"}; 409 email_taken;
//	                     400 invalid (no name, or an email without "@")
//	GET  /               an HTML page
//	GET  /slow           "paid" after 50 to 200 ms
//	GET  /_stats         the counts as JSON (not counted itself)
//
// Anything else is 404. A request that carries "Authorization: Bearer
// <token>" must carry a valid one, on every endpoint: 401 invalid_token for
// a token the shop never gave, token_expired after Config.TokenUses
// authorized requests or Config.TokenTTL; /cart and /checkout without one
// are 401 missing_token. Carts are per account. The accounts are shopper1,
// shopper2, ... (any number) with the passwords secret1, secret2, ...
// (DefaultPassword), unless Config.Accounts gives others.
package demotarget

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Item is one item of the catalog.
type Item struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Price       float64 `json:"price"`
	Description string  `json:"description"`
}

// Catalog is the shop's fixed catalog; items 7 and 9 are out of stock
// unless Config.Stock says otherwise.
var Catalog = []Item{
	{1, "Espresso cup", 8.5, "A thick porcelain cup, 80 ml."},
	{2, "Coffee grinder", 89, "A hand grinder with ceramic burrs."},
	{3, "Pour-over kettle", 45, "A gooseneck kettle, 1 litre."},
	{4, "Paper filters (100)", 4.99, "Filters for pour-over cones, size 02."},
	{5, "French press", 32, "Glass and steel, 8 cups."},
	{6, "Milk frother", 27.5, "Battery powered."},
	{7, "Tea infuser", 9.9, "A stainless steel ball."},
	{8, "Travel mug", 19, "Keeps coffee hot for 4 hours."},
	{9, "Burr grinder", 149, "An electric grinder, 40 settings."},
	{10, "Espresso machine", 499, "15 bar, with a steam wand."},
	{11, "Coffee beans 1kg", 24, "Medium roast."},
	{12, "Tea sampler", 15, "Twelve green and black teas."},
}

// SoldOut are the items without stock by default.
var SoldOut = []int{7, 9}

// DefaultStock is the stock of every other item: plenty.
const DefaultStock = 1_000_000

// DefaultAccounts returns the first 1000 of the shop's default accounts:
// shopper1 ... shopper1000, whose passwords are secret1 ... secret1000.
// The shop takes every other shopperN too (DefaultPassword).
func DefaultAccounts() map[string]string {
	m := make(map[string]string, 1000)
	for i := 1; i <= 1000; i++ {
		m["shopper"+strconv.Itoa(i)] = "secret" + strconv.Itoa(i)
	}
	return m
}

// DefaultPassword returns the password of a default account: secretN for
// shopperN, N a whole number from 1 (written without leading zeros or a
// sign, at most 18 digits), so that a scenario can log in as
// "shopper${user.id}" with any number of users; ok is false for any other
// name.
func DefaultPassword(user string) (password string, ok bool) {
	n, found := strings.CutPrefix(user, "shopper")
	if !found || n == "" || len(n) > 18 || n[0] == '0' {
		return "", false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", false
		}
	}
	return "secret" + n, true
}

// Config configures a Shop. The zero value is the demo's shop.
type Config struct {
	// Accounts maps user names to passwords (nil: the default accounts,
	// every shopperN with its DefaultPassword).
	Accounts map[string]string
	// TokenUses is how many authorized requests a token serves before it
	// expires (0: no limit).
	TokenUses int
	// TokenTTL is how long a token lives after its login (0: no limit).
	TokenTTL time.Duration
	// Stock overrides the initial stock of items by id; the others have
	// DefaultStock, SoldOut none.
	Stock map[int]int
	// Log keeps every request with a token of the account, valid or
	// expired, per account (Stats.Log), for tests; off, the shop's memory
	// does not grow with the requests.
	Log bool
	// Now is the clock for TokenTTL (default time.Now).
	Now func() time.Time
}

// Event is one authorized request, or one refused for its expired token
// (Status 401), in Stats.Log.
type Event struct {
	Token    string
	Endpoint string // "POST /cart", ...
	Status   int
	Item     int       // the item of GET /items/{id} and POST /cart (0: none)
	Items    []int     // the ids GET /items listed, or the items POST /checkout ordered
	Time     time.Time // when the shop answered (Config.Now)
}

// AccountStats counts one account's requests.
type AccountStats struct {
	Logins       int            `json:"logins"`        // successful logins
	FailedLogins int            `json:"failed_logins"` // logins with a wrong password
	Endpoints    map[string]int `json:"endpoints"`     // authorized requests per endpoint, any status
}

// TokenStats counts one token's requests.
type TokenStats struct {
	Account   string         `json:"account"`
	Uses      int            `json:"uses"`      // authorized requests
	Endpoints map[string]int `json:"endpoints"` // authorized requests per endpoint, any status
}

// Stats is a snapshot of what the shop received.
type Stats struct {
	// Endpoints counts every request per endpoint ("GET /items/{id}",
	// "other" for unknown paths) and status.
	Endpoints map[string]map[int]int `json:"endpoints"`
	// Anonymous counts the requests without an Authorization header per
	// endpoint.
	Anonymous    map[string]int          `json:"anonymous"`
	Accounts     map[string]AccountStats `json:"accounts"`
	Tokens       map[string]TokenStats   `json:"tokens"`
	Unauthorized map[string]int          `json:"unauthorized"` // 401s by error code
	Details      map[int]int             `json:"details"`      // GET /items/{id} answered 200, per item
	Searches     map[string]int          `json:"searches"`     // GET /search per q
	Signups      map[string]int          `json:"signups"`      // POST /signup per email, any status
	Orders       int                     `json:"orders"`
	Log          map[string][]Event      `json:"-"` // per account, with Config.Log
}

// Count returns the requests an endpoint received, any status.
func (s Stats) Count(endpoint string) int {
	n := 0
	for _, c := range s.Endpoints[endpoint] {
		n += c
	}
	return n
}

// Total returns every request received.
func (s Stats) Total() int {
	n := 0
	for ep := range s.Endpoints {
		n += s.Count(ep)
	}
	return n
}

type token struct {
	account string
	issued  time.Time
	uses    int
	eps     map[string]int
}

type account struct {
	stats AccountStats
	cart  []int
	log   []Event
}

// Shop is the shop's handler. Its methods are safe for concurrent use.
type Shop struct {
	cfg       Config
	passwords map[string]string
	now       func() time.Time

	mu        sync.Mutex
	endpoints map[string]map[int]int
	anonymous map[string]int
	accounts  map[string]*account
	tokens    map[string]*token
	unauth    map[string]int
	details   map[int]int
	searches  map[string]int
	signups   map[string]int
	emails    map[string]bool
	stock     map[int]int
	orders    int
	users     int
}

// New returns a shop configured by cfg.
func New(cfg Config) *Shop {
	s := &Shop{cfg: cfg, passwords: cfg.Accounts, now: cfg.Now,
		endpoints: map[string]map[int]int{}, anonymous: map[string]int{}, accounts: map[string]*account{},
		tokens: map[string]*token{}, unauth: map[string]int{}, details: map[int]int{}, searches: map[string]int{},
		signups: map[string]int{}, emails: map[string]bool{}, stock: map[int]int{}}
	if s.now == nil {
		s.now = time.Now
	}
	for _, it := range Catalog {
		s.stock[it.ID] = DefaultStock
	}
	for _, id := range SoldOut {
		s.stock[id] = 0
	}
	for id, n := range cfg.Stock {
		s.stock[id] = n
	}
	return s
}

// request is one request being answered, under s.mu.
type request struct {
	w        http.ResponseWriter
	endpoint string
	tok      string
	t        *token // the request's valid token
	expired  *token // or its expired one (logged, not counted)
	ev       Event
}

func (s *Shop) reply(q *request, code int, v any) {
	m := s.endpoints[q.endpoint]
	if m == nil {
		m = map[int]int{}
		s.endpoints[q.endpoint] = m
	}
	m[code]++
	if q.t != nil {
		q.t.eps[q.endpoint]++
		s.accounts[q.t.account].stats.Endpoints[q.endpoint]++
	}
	if t := cmp.Or(q.t, q.expired); t != nil && s.cfg.Log {
		q.ev.Token, q.ev.Endpoint, q.ev.Status, q.ev.Time = q.tok, q.endpoint, code, s.now()
		a := s.accounts[t.account]
		a.log = append(a.log, q.ev)
	}
	if code == http.StatusUnauthorized {
		if e, ok := v.(errBody); ok {
			s.unauth[e.Error]++
		}
	}
	if b, ok := v.([]byte); ok {
		q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		q.w.WriteHeader(code)
		q.w.Write(b)
		return
	}
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(code)
	json.NewEncoder(q.w).Encode(v)
}

type errBody struct {
	Error string `json:"error"`
}

func (s *Shop) fail(q *request, code int, what string) { s.reply(q, code, errBody{what}) }

// endpoint names the request's endpoint.
func endpoint(r *http.Request) string {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/login":
		return "POST /login"
	case r.Method == http.MethodGet && p == "/items":
		return "GET /items"
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/items/") && !strings.Contains(p[len("/items/"):], "/"):
		return "GET /items/{id}"
	case r.Method == http.MethodPost && p == "/cart":
		return "POST /cart"
	case r.Method == http.MethodPost && p == "/checkout":
		return "POST /checkout"
	case r.Method == http.MethodGet && p == "/search":
		return "GET /search"
	case r.Method == http.MethodPost && p == "/signup":
		return "POST /signup"
	case r.Method == http.MethodGet && p == "/":
		return "GET /"
	case r.Method == http.MethodGet && p == "/slow":
		return "GET /slow"
	}
	return "other"
}

// ServeHTTP implements http.Handler.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/_stats" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Stats())
		return
	}
	ep := endpoint(r)
	if ep == "GET /slow" {
		// Sleep outside the lock.
		time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, 1<<20)); err != nil {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := &request{w: w, endpoint: ep}
	if h := r.Header.Get("Authorization"); h != "" {
		if !s.authorize(q, h) {
			return
		}
	} else {
		s.anonymous[ep]++
	}
	switch ep {
	case "POST /login":
		s.login(q, body)
	case "GET /items":
		s.list(q, r.URL.Query().Get("in_stock"))
	case "GET /items/{id}":
		s.detail(q, r.URL.Path[len("/items/"):])
	case "POST /cart":
		s.cart(q, body)
	case "POST /checkout":
		s.checkout(q)
	case "GET /search":
		s.search(q, r.URL.Query())
	case "POST /signup":
		s.signup(q, body)
	case "GET /":
		s.reply(q, http.StatusOK, []byte("<html><body><h1>glocust demo shop</h1></body></html>\n"))
	case "GET /slow":
		s.reply(q, http.StatusOK, "paid")
	default:
		s.fail(q, http.StatusNotFound, "not_found")
	}
}

// authorize checks the request's token; false: it answered 401.
func (s *Shop) authorize(q *request, h string) bool {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	t := s.tokens[tok]
	if !ok || t == nil {
		s.fail(q, http.StatusUnauthorized, "invalid_token")
		return false
	}
	if (s.cfg.TokenUses > 0 && t.uses >= s.cfg.TokenUses) || (s.cfg.TokenTTL > 0 && s.now().Sub(t.issued) >= s.cfg.TokenTTL) {
		q.tok, q.expired = tok, t
		s.fail(q, http.StatusUnauthorized, "token_expired")
		return false
	}
	t.uses++
	q.tok, q.t = tok, t
	return true
}

func (s *Shop) needToken(q *request) bool {
	if q.t == nil {
		s.fail(q, http.StatusUnauthorized, "missing_token")
		return false
	}
	return true
}

func (s *Shop) login(q *request, body []byte) {
	var in struct{ Username, Password string }
	if err := json.Unmarshal(body, &in); err != nil || in.Username == "" {
		s.fail(q, http.StatusBadRequest, "bad_request")
		return
	}
	pw, ok := s.passwords[in.Username]
	if s.passwords == nil {
		pw, ok = DefaultPassword(in.Username)
	}
	if !ok || pw != in.Password {
		if ok {
			s.account(in.Username).stats.FailedLogins++
		}
		s.fail(q, http.StatusUnauthorized, "invalid_credentials")
		return
	}
	a := s.account(in.Username)
	a.stats.Logins++
	tok := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	s.tokens[tok] = &token{account: in.Username, issued: s.now(), eps: map[string]int{}}
	out := map[string]any{"token": tok, "expires_in": nil, "max_uses": nil}
	if s.cfg.TokenTTL > 0 {
		out["expires_in"] = s.cfg.TokenTTL.Seconds()
	}
	if s.cfg.TokenUses > 0 {
		out["max_uses"] = s.cfg.TokenUses
	}
	s.reply(q, http.StatusOK, out)
}

func (s *Shop) account(name string) *account {
	a := s.accounts[name]
	if a == nil {
		a = &account{stats: AccountStats{Endpoints: map[string]int{}}}
		s.accounts[name] = a
	}
	return a
}

type listed struct {
	ID      int     `json:"id"`
	Name    string  `json:"name"`
	Price   float64 `json:"price"`
	InStock bool    `json:"in_stock"`
}

func (s *Shop) list(q *request, inStock string) {
	items := make([]listed, 0, len(Catalog))
	for _, it := range Catalog {
		n := s.stock[it.ID]
		if inStock == "true" && n == 0 {
			continue
		}
		items = append(items, listed{it.ID, it.Name, it.Price, n > 0})
		q.ev.Items = append(q.ev.Items, it.ID)
	}
	s.reply(q, http.StatusOK, map[string]any{"items": items, "count": len(items)})
}

func find(id int) *Item {
	for i := range Catalog {
		if Catalog[i].ID == id {
			return &Catalog[i]
		}
	}
	return nil
}

func (s *Shop) detail(q *request, idText string) {
	id, err := strconv.Atoi(idText)
	it := find(id)
	if err != nil || it == nil {
		s.reply(q, http.StatusNotFound, map[string]string{"error": "not_found", "id": idText})
		return
	}
	q.ev.Item = id
	s.details[id]++
	n := s.stock[id]
	s.reply(q, http.StatusOK, map[string]any{"id": id, "name": it.Name, "price": it.Price, "stock": n,
		"in_stock": n > 0, "description": it.Description})
}

// itemID reads a JSON number or numeric string.
func itemID(raw json.RawMessage) (int, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		return strconv.Atoi(v)
	}
	return 0, errors.New("not an item id")
}

func (s *Shop) cart(q *request, body []byte) {
	if !s.needToken(q) {
		return
	}
	var in struct {
		ItemID json.RawMessage `json:"item_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ItemID == nil {
		s.fail(q, http.StatusBadRequest, "bad_request")
		return
	}
	id, err := itemID(in.ItemID)
	if err != nil {
		s.fail(q, http.StatusBadRequest, "bad_request")
		return
	}
	q.ev.Item = id
	a := s.accounts[q.t.account]
	switch {
	case find(id) == nil:
		s.fail(q, http.StatusNotFound, "not_found")
	case slices.Contains(a.cart, id):
		s.fail(q, http.StatusConflict, "already_in_cart")
	case s.stock[id] == 0:
		s.fail(q, http.StatusConflict, "out_of_stock")
	default:
		a.cart = append(a.cart, id)
		s.reply(q, http.StatusOK, map[string]any{"cart": a.cart, "count": len(a.cart)})
	}
}

func (s *Shop) checkout(q *request) {
	if !s.needToken(q) {
		return
	}
	a := s.accounts[q.t.account]
	if len(a.cart) == 0 {
		s.fail(q, http.StatusConflict, "empty_cart")
		return
	}
	total := 0.0
	for _, id := range a.cart {
		total += find(id).Price
		if s.stock[id] > 0 {
			s.stock[id]--
		}
	}
	s.orders++
	q.ev.Items = a.cart
	a.cart = nil
	s.reply(q, http.StatusOK, map[string]any{"order_id": s.orders, "status": "confirmed", "items": q.ev.Items,
		"total": float64(int(total*100+0.5)) / 100})
}

func (s *Shop) search(q *request, query map[string][]string) {
	v, ok := query["q"]
	if !ok {
		s.fail(q, http.StatusBadRequest, "bad_request")
		return
	}
	term := v[0]
	s.searches[term]++
	type result struct {
		ID    int     `json:"id"`
		Name  string  `json:"name"`
		Price float64 `json:"price"`
	}
	results := []result{}
	lower := strings.ToLower(term)
	for _, it := range Catalog {
		if strings.Contains(strings.ToLower(it.Name), lower) {
			results = append(results, result{it.ID, it.Name, it.Price})
		}
	}
	s.reply(q, http.StatusOK, map[string]any{"query": term, "results": results, "count": len(results)})
}

func (s *Shop) signup(q *request, body []byte) {
	var in struct{ Name, Email string }
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(q, http.StatusBadRequest, "bad_request")
		return
	}
	s.signups[in.Email]++
	switch {
	case strings.TrimSpace(in.Name) == "":
		s.reply(q, http.StatusBadRequest, map[string]string{"error": "invalid", "field": "name"})
	case !strings.Contains(in.Email, "@"):
		s.reply(q, http.StatusBadRequest, map[string]string{"error": "invalid", "field": "email"})
	case s.emails[strings.ToLower(in.Email)]:
		s.fail(q, http.StatusConflict, "email_taken")
	default:
		s.emails[strings.ToLower(in.Email)] = true
		s.users++
		s.reply(q, http.StatusCreated, map[string]any{"id": s.users, "name": in.Name, "email": in.Email})
	}
}

// Stats returns a copy of the counts.
func (s *Shop) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Endpoints: make(map[string]map[int]int, len(s.endpoints)), Anonymous: maps.Clone(s.anonymous),
		Accounts: make(map[string]AccountStats, len(s.accounts)), Tokens: make(map[string]TokenStats, len(s.tokens)),
		Unauthorized: maps.Clone(s.unauth), Details: maps.Clone(s.details), Searches: maps.Clone(s.searches),
		Signups: maps.Clone(s.signups), Orders: s.orders}
	for ep, m := range s.endpoints {
		st.Endpoints[ep] = maps.Clone(m)
	}
	for name, a := range s.accounts {
		as := a.stats
		as.Endpoints = maps.Clone(as.Endpoints)
		st.Accounts[name] = as
		if s.cfg.Log {
			if st.Log == nil {
				st.Log = map[string][]Event{}
			}
			st.Log[name] = slices.Clone(a.log)
		}
	}
	for tok, t := range s.tokens {
		st.Tokens[tok] = TokenStats{Account: t.account, Uses: t.uses, Endpoints: maps.Clone(t.eps)}
	}
	return st
}

// Server is a Shop serving on a listener.
type Server struct {
	*Shop
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL  string
	srv  *http.Server
	done chan struct{}
}

// Start serves a shop configured by cfg on addr ("127.0.0.1:0": a free
// port) until Close.
func Start(addr string, cfg Config) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Shop: New(cfg), URL: "http://" + l.Addr().String(), done: make(chan struct{})}
	s.srv = &http.Server{Handler: s.Shop, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		s.srv.Serve(l)
	}()
	return s, nil
}

// Close stops serving and closes every connection; it returns when the
// server's goroutine has ended.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
