package master

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestSwarmSetsParams: a POST /swarm form key naming a custom parameter
// sets it, as the form's string, in the parsed options of the spawn it
// starts and of the spawns of later swarms that do not name it; a swarm
// that fails sets nothing, keys that are not parameters are ignored, a
// parameter named as a setting of the form is not one, and the page's
// settings list the parameters with their current values.
func TestSwarmSetsParams(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startLiveWith(t, tk, Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Host: "http://h",
			QuitWait:      200 * time.Millisecond,
			ParsedOptions: protocol.NewMap("host", "http://h", "expect_workers", int64(1), "given", "from-cmdline"),
			Params:        []Param{{Name: "tag", Value: "default-tag"}, {Name: "given", Value: "from-cmdline"}, {Name: "user_count", Value: "7"}},
		}, WebConfig{Locustfile: "s.yaml"})
		w := lm.worker(t, "w1")
		w.send(&protocol.ClientReady{Version: LocustVersion})
		w.expect(protocol.TypeAck)

		// spawnsUntil reads spawns until one gives the worker users, and
		// returns the parsed options of every one of them.
		spawnsUntil := func(users int64) []*protocol.Map {
			t.Helper()
			var out []*protocol.Map
			for {
				sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn)
				out = append(out, sp.ParsedOptions)
				if totalUsers(sp.UserClassesCount) == users {
					return out
				}
			}
		}
		check := func(when string, opts []*protocol.Map, want map[string]any) {
			t.Helper()
			for i, o := range opts {
				for k, v := range want {
					got, ok := o.Get(k)
					if v == nil && ok {
						t.Errorf("%s: spawn %d has parsed option %s = %#v, want none", when, i, k, got)
					} else if v != nil && got != v {
						t.Errorf("%s: spawn %d has parsed option %s = %#v (set %v), want %#v", when, i, k, got, ok, v)
					}
				}
			}
		}

		out := postSwarm(t, lm.srv.URL, url.Values{"user_count": {"1"}, "spawn_rate": {"100"}, "tag": {"from form"},
			"not_a_param": {"x"}})
		if out["success"] != true {
			t.Fatalf("/swarm: %v", out)
		}
		check("the first swarm", spawnsUntil(1), map[string]any{"tag": "from form", "given": "from-cmdline",
			"not_a_param": nil, "user_count": nil, "expect_workers": int64(1)})

		// A failed swarm changes nothing.
		if out := postSwarm(t, lm.srv.URL, url.Values{"user_count": {"x"}, "spawn_rate": {"100"}, "tag": {"refused"}}); out["success"] != false {
			t.Fatalf("/swarm with a bad user_count: %v", out)
		}
		out = postSwarm(t, lm.srv.URL, url.Values{"user_count": {"3"}, "spawn_rate": {"100"}})
		if out["success"] != true {
			t.Fatalf("/swarm: %v", out)
		}
		check("a later swarm without the parameter", spawnsUntil(3), map[string]any{"tag": "from form", "given": "from-cmdline"})

		out = postSwarm(t, lm.srv.URL, url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "given": {""}})
		if out["success"] != true {
			t.Fatalf("/swarm: %v", out)
		}
		check("a swarm that empties a parameter", spawnsUntil(2), map[string]any{"tag": "from form", "given": ""})

		var params []ParamValue
		lm.m.Do(func(v *View) { params = v.Params() })
		want := []ParamValue{{Param{"tag", "from form"}, true}, {Param{"given", ""}, true}}
		if !slices.Equal(params, want) {
			t.Errorf("View.Params %+v, want %+v", params, want)
		}
		_, _, page := get(t, lm.srv.URL+"/")
		wantJSON := `"params":[{"name":"tag","value":"from form","set":true},{"name":"given","value":"","set":true}]`
		if !strings.Contains(page, wantJSON) {
			i := strings.Index(page, `"params"`)
			t.Errorf("the page's settings: %.200s, want %s", page[max(i, 0):], wantJSON)
		}
	})
}

// TestParamsBeforeAnySwarm: the page's settings show a parameter the
// master does not send with its default value, and one it was given with
// that value.
func TestParamsBeforeAnySwarm(t *testing.T) {
	t.Parallel()
	lm := startLiveWith(t, inprocKind, Config{Classes: []UserClass{{Name: "A", Weight: 1}},
		QuitWait:      200 * time.Millisecond,
		ParsedOptions: protocol.NewMap("given", "7"),
		Params:        []Param{{Name: "tag", Value: "default-tag"}, {Name: "given", Value: "7"}},
	}, WebConfig{Locustfile: "s.yaml"})
	_, _, page := get(t, lm.srv.URL+"/")
	want := `"params":[{"name":"tag","value":"default-tag","set":false},{"name":"given","value":"7","set":true}]`
	if !strings.Contains(page, want) {
		i := strings.Index(page, `"params"`)
		t.Errorf("the page's settings: %.200s, want %s", page[max(i, 0):], want)
	}
}
