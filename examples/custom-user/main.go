// Command custom-user shows glocust's Go API: a user class written in Go,
// registered under the name of the Python locustfile's class so a Locust
// master can dispatch users to it.
//
// Run it as a worker of a Locust master whose locustfile defines
// "class ApiUser(HttpUser)" (the Python body is not used by glocust):
//
//	go run ./examples/custom-user --worker --master-host 127.0.0.1 --host http://127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/glocust/glocust"
	"github.com/glocust/glocust/scenario"
)

// Requests are declared once: the client renders their headers on first use
// and then sends them without formatting or allocating.
var (
	listItems = &scenario.Request{URL: "/items?page=1", Name: "/items",
		Header: http.Header{"Accept": {"application/json"}}, ExpectStatus: []int{200}}
	health = &scenario.Request{URL: "/health", Timeout: 2 * time.Second}
)

// session is the per-user state kept in UserContext.State.
type session struct{ token string }

func login(ctx context.Context, u *scenario.UserContext) error {
	body, _ := json.Marshal(map[string]string{"user": fmt.Sprintf("user%d", u.ID)})
	resp := u.HTTP.Post(ctx, "/login", "login", "application/json", body)
	if !resp.OK() {
		return nil // recorded as a failed request; the user carries on
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		return fmt.Errorf("login: decode token: %w", err) // reported as a user exception
	}
	u.State = &session{token: out.Token}
	return nil
}

func browse(ctx context.Context, u *scenario.UserContext) error {
	u.HTTP.Do(ctx, listItems)
	return nil
}

func checkout(ctx context.Context, u *scenario.UserContext) error {
	s, _ := u.State.(*session)
	if s == nil {
		return errors.New("checkout without a session")
	}
	// Names built per call are fine; the stats entry is cached per user.
	r := &scenario.Request{Method: http.MethodPost, URL: "/cart/checkout", Name: "/cart/checkout",
		Header: http.Header{"Authorization": {"Bearer " + s.token}}}
	u.HTTP.Do(ctx, r)
	return nil
}

// cacheLookup shows recording a non-HTTP operation.
func cacheLookup(_ context.Context, u *scenario.UserContext) error {
	start := time.Now()
	var err error
	if u.Rand.IntN(100) == 0 {
		err = errors.New("cache miss")
	}
	u.Record("CACHE", "get item", time.Since(start), 0, err)
	return nil
}

// apiUser is the class; its name must match the Python locustfile.
func apiUser() *scenario.Class {
	return &scenario.Class{
		Name:     "ApiUser",
		Weight:   1,
		WaitTime: scenario.Between(500*time.Millisecond, 2*time.Second),
		OnStart:  login,
		Tasks: []scenario.Task{
			{Name: "browse", Weight: 5, Fn: browse},
			{Name: "checkout", Weight: 1, Fn: checkout},
			{Name: "health", Weight: 1, Fn: func(ctx context.Context, u *scenario.UserContext) error {
				u.HTTP.Do(ctx, health)
				return nil
			}},
			{Name: "cache", Weight: 2, Fn: cacheLookup},
		},
	}
}

func main() {
	scenario.Register(apiUser())
	// From here on this binary is glocust, with ApiUser built in:
	//
	//	go run ./examples/custom-user --worker --master-host 127.0.0.1
	os.Exit(glocust.Main(os.Args[1:]))
}
