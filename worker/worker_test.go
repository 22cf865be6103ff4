package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/stats"
)

// pipe is an in-memory Transport: the test plays the master.
type pipe struct {
	toMaster  chan []byte
	toWorker  chan []byte
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipe() *pipe {
	return &pipe{toMaster: make(chan []byte, 100), toWorker: make(chan []byte, 100), closed: make(chan struct{})}
}

func (p *pipe) Send(ctx context.Context, f zmq.Frame) error {
	select {
	case <-p.closed:
		return zmq.ErrClosed
	case p.toMaster <- f.Payload:
		return nil
	}
}

func (p *pipe) Recv(ctx context.Context) (zmq.Frame, error) {
	select {
	case b := <-p.toWorker:
		return zmq.Frame{Payload: b}, nil
	case <-p.closed:
		return zmq.Frame{}, zmq.ErrClosed
	case <-ctx.Done():
		return zmq.Frame{}, ctx.Err()
	}
}

func (p *pipe) Close() error { p.closeOnce.Do(func() { close(p.closed) }); return nil }

// fakeUsers records what the worker asked of the user runtime.
type fakeUsers struct {
	mu      sync.Mutex
	counts  map[string]int64
	host    string
	stops   int
	updated []string
	attrs   map[string]any
	filters [][2][]string // FilterTags calls: include, exclude
	calls   []string      // SetPlacement, SetMasterOptions and Apply, in order
}

func (u *fakeUsers) SetPlacement(index, slot, count int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, fmt.Sprintf("place %d %d %d", index, slot, count))
}

func (u *fakeUsers) SetMasterOptions(opts *protocol.Map) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, _ := opts.Get("page_size")
	u.calls = append(u.calls, fmt.Sprintf("options page_size=%v", v))
}

func (u *fakeUsers) FilterTags(include, exclude []string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.filters = append(u.filters, [2][]string{include, exclude})
	return true
}

func (u *fakeUsers) SetHost(h string) { u.mu.Lock(); u.host = h; u.mu.Unlock() }
func (u *fakeUsers) Apply(t []protocol.ClassCount) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, "apply")
	for _, c := range t {
		u.counts[c.Class] = c.Count
	}
}
func (u *fakeUsers) StopAll(ctx context.Context, d time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stops++
	for k := range u.counts {
		u.counts[k] = 0
	}
}
func (u *fakeUsers) Counts() []protocol.ClassCount {
	u.mu.Lock()
	defer u.mu.Unlock()
	return []protocol.ClassCount{{Class: "A", Count: u.counts["A"]}, {Class: "B", Count: u.counts["B"]}}
}
func (u *fakeUsers) UserCount() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts["A"] + u.counts["B"]
}
func (u *fakeUsers) UpdateClass(name string, attrs map[string]any) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.updated = append(u.updated, name)
	u.attrs = attrs
	return []string{"unknown_attr"}
}

type harness struct {
	t       *testing.T
	pipes   chan *pipe
	w       *Worker
	users   *fakeUsers
	cur     *pipe
	result  chan error
	cancel  context.CancelFunc
	spawnTS float64 // the last spawn timestamp sync used
}

func start(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, pipes: make(chan *pipe, 10), users: &fakeUsers{counts: map[string]int64{}}, result: make(chan error, 1)}
	dial := func(ctx context.Context, endpoint, id string) (zmq.Transport, error) {
		p := newPipe()
		h.pipes <- p
		return p, nil
	}
	opts = append([]Option{WithDialer(dial), WithNodeID("host_abc"), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithIntervals(20*time.Millisecond, 50*time.Millisecond), WithConnectRetry(100*time.Millisecond, 3), WithRedialDelay(10 * time.Millisecond),
		WithFinalWait(time.Second)}, opts...)
	h.w = New("127.0.0.1", 1, h.users, stats.NewRegistry(), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.result <- h.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.result:
		case <-time.After(5 * time.Second):
			t.Error("worker did not stop")
		}
	})
	h.nextPipe()
	return h
}

func (h *harness) nextPipe() {
	select {
	case h.cur = <-h.pipes:
	case <-time.After(5 * time.Second):
		h.t.Fatal("worker did not dial")
	}
}

// expect reads frames until one of type typ arrives (others are skipped).
func (h *harness) expect(typ string) protocol.Payload {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-h.cur.toMaster:
			e, err := protocol.Decode(b, protocol.FromWorker)
			if err != nil {
				h.t.Fatalf("worker sent undecodable frame: %v", err)
			}
			if e.NodeID != h.w.NodeID() {
				h.t.Fatalf("node id %q", e.NodeID)
			}
			if e.Type() == typ {
				return e.Payload
			}
		case <-deadline:
			h.t.Fatalf("no %q from worker", typ)
		}
	}
}

func (h *harness) send(p protocol.Payload) {
	b, err := protocol.Encode(h.w.NodeID(), p)
	if err != nil {
		h.t.Fatal(err)
	}
	h.cur.toWorker <- b
}

func TestRegisterSpawnStopQuit(t *testing.T) {
	t.Parallel()
	h := start(t)
	if cr := h.expect("client_ready").(*protocol.ClientReady); cr.Version != DefaultLocustVersion {
		t.Fatalf("client_ready version %q", cr.Version)
	}
	h.send(&protocol.Ack{Index: 4, HasIndex: true})
	h.expect("stats")
	if hb := h.expect("heartbeat").(*protocol.Heartbeat); hb.State != "ready" || hb.CurrentMemoryUsage <= 0 {
		t.Fatalf("heartbeat %+v", hb)
	}
	if h.w.Index() != 4 {
		t.Fatalf("index %d", h.w.Index())
	}
	h.send(&protocol.Spawn{Timestamp: 10, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 3}, {Class: "B", Count: 1}}, Host: "http://x", HasHost: true, StopTimeout: 0.0})
	h.expect("spawning")
	sc := h.expect("spawning_complete").(*protocol.SpawningComplete)
	if sc.UserCount != 4 {
		t.Fatalf("spawning_complete %+v", sc)
	}
	if hb := h.expect("heartbeat").(*protocol.Heartbeat); hb.State != "running" {
		t.Fatalf("state %q after spawn", hb.State)
	}
	// An older spawn is answered with spawning and otherwise ignored.
	h.send(&protocol.Spawn{Timestamp: 9, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 0}, {Class: "B", Count: 0}}})
	h.expect("spawning")
	if st := h.expect("stats").(*protocol.Stats); st.UserCount != 4 {
		t.Fatalf("old spawn applied: user_count %d", st.UserCount)
	}
	h.send(&protocol.Stop{})
	h.expect("client_stopped")
	h.expect("client_ready")
	if h.users.UserCount() != 0 {
		t.Fatal("users still running after stop")
	}
	h.send(&protocol.Ack{Index: 4, HasIndex: true})
	h.send(&protocol.Quit{})
	h.expect("stats")
	h.expect("quit")
	select {
	case err := <-h.result:
		if err != nil {
			t.Fatalf("Run after quit: %v", err)
		}
		h.result <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after quit")
	}
}

func TestSkipVersionAndConnectFailure(t *testing.T) {
	t.Parallel()
	// A master that never acks: client_ready every 100 ms for 1 s, then
	// ErrConnect. How many retries fit before the worker gives up depends
	// on timer scheduling, so the test counts them instead of expecting an
	// exact number.
	h := start(t, WithLocustVersion("-1"), WithConnectRetry(100*time.Millisecond, 10))
	readies := 0
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-h.cur.toMaster:
			e, err := protocol.Decode(b, protocol.FromWorker)
			if err != nil {
				t.Fatalf("worker sent undecodable frame: %v", err)
			}
			if cr, ok := e.Payload.(*protocol.ClientReady); ok {
				if !cr.SkipVersionCheck {
					t.Fatalf("want -1, got %+v", cr)
				}
				readies++
			}
			continue
		case err := <-h.result:
			if !errors.Is(err, ErrConnect) {
				t.Fatalf("got %v, want ErrConnect", err)
			}
			h.result <- err
		case <-deadline:
			t.Fatal("worker did not give up")
		}
		break
	}
	if readies < 3 {
		t.Fatalf("%d client_ready before giving up after 1 s, want retries every 100 ms", readies)
	}
}

func TestMasterRestartReregisters(t *testing.T) {
	t.Parallel()
	h := start(t, WithMasterTimeouts(100*time.Millisecond, 300*time.Millisecond, 5*time.Second))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.send(&protocol.MasterHeartbeat{})
	h.send(&protocol.Spawn{Timestamp: 10, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 2}, {Class: "B", Count: 0}}})
	h.expect("spawning_complete")
	// The master goes silent: first a reset (new socket, no client_ready) ...
	h.nextPipe()
	// ... then a new registration with the users stopped.
	h.nextPipe()
	h.expect("client_ready")
	if h.users.UserCount() != 0 {
		t.Fatal("users still running after re-registration")
	}
	if id := h.w.NodeID(); id == "host_abc" || !strings.HasPrefix(id, "host_") || len(id) != len("host_")+32 {
		t.Fatalf("node id after re-registration: %q", id)
	}
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.send(&protocol.MasterHeartbeat{})
	h.send(&protocol.Spawn{Timestamp: 20, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}, {Class: "B", Count: 1}}})
	if sc := h.expect("spawning_complete").(*protocol.SpawningComplete); sc.UserCount != 2 {
		t.Fatalf("after restart: %+v", sc)
	}
}

func TestInterruptSendsFinalStatsAndQuit(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.expect("stats")
	h.w.ReportException("boom", "trace")
	h.expect("exception")
	h.cancel()
	h.expect("stats")
	h.expect("quit")
}

func TestUpdateUserClassAndCustomMessages(t *testing.T) {
	t.Parallel()
	got := make(chan protocol.Value, 1)
	h := start(t, OnMessage("my_msg", func(d protocol.Value) { got <- d }))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.expect("stats")
	h.send(&protocol.UpdateUserClass{Data: protocol.NewMap("user_class_name", "A", "weight", int64(5),
		"tasks", []protocol.Value{"home"}, "unknown_attr", true)})
	h.send(&protocol.Custom{Type: "my_msg", Data: protocol.NewMap("x", int64(1))})
	select {
	case d := <-got:
		if v, _ := d.(*protocol.Map).Get("x"); v != int64(1) {
			t.Fatalf("custom message data %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("custom message handler not called")
	}
	h.users.mu.Lock()
	defer h.users.mu.Unlock()
	if len(h.users.updated) != 1 || h.users.updated[0] != "A" || h.users.attrs["weight"] != int64(5) ||
		!reflect.DeepEqual(h.users.attrs["tasks"], []any{"home"}) {
		t.Fatalf("update_user_class applied as %v %v", h.users.updated, h.users.attrs)
	}
	if h.w.SendMessage("reply", "hi") != true {
		t.Fatal("SendMessage refused")
	}
}

// TestMasterGoneForGood: the master goes silent and never answers again.
// The worker re-registers, and once the master timeout has passed since
// the last heartbeat it quits with ErrMasterTimeout although it is not
// registered any more (a Kubernetes Job of workers must end).
func TestMasterGoneForGood(t *testing.T) {
	t.Parallel()
	h := start(t, WithMasterTimeouts(50*time.Millisecond, 150*time.Millisecond, 600*time.Millisecond),
		WithConnectRetry(10*time.Second, 60))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.send(&protocol.MasterHeartbeat{})
	t0 := time.Now()
	select {
	case err := <-h.result:
		if !errors.Is(err, ErrMasterTimeout) {
			t.Fatalf("Run returned %v, want ErrMasterTimeout", err)
		}
		if d := time.Since(t0); d < 500*time.Millisecond {
			t.Fatalf("quit after %v, before the 600 ms master timeout", d)
		}
		h.result <- err
	case <-time.After(5 * time.Second):
		t.Fatal("the worker waits forever for a master that is gone")
	}
}

// TestNoMasterAtAll: the master's port never accepts (the dial blocks), so
// no client_ready can even be sent; the worker still gives up after
// connectEvery × connectRetries with ErrConnect, as Locust does after its
// 60 × 5 s.
func TestNoMasterAtAll(t *testing.T) {
	t.Parallel()
	dial := func(ctx context.Context, endpoint, id string) (zmq.Transport, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	w := New("127.0.0.1", 1, &fakeUsers{counts: map[string]int64{}}, stats.NewRegistry(),
		WithDialer(dial), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithIntervals(20*time.Millisecond, 50*time.Millisecond), WithConnectRetry(50*time.Millisecond, 4))
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnect) {
			t.Fatalf("Run returned %v, want ErrConnect", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker waits forever for a master whose port never accepts")
	}
}

// An ack that arrives between client_stopped and client_ready (a glocust
// master moving data slots while another worker stops) keeps its slot but
// does not register the worker: it sends nothing but client_ready, and
// the ack of that registers it.
func TestAckAfterClientStopped(t *testing.T) {
	t.Parallel()
	h := start(t, WithWaitAfterStop(300*time.Millisecond))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	h.send(&protocol.Spawn{Timestamp: 10, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}, {Class: "B", Count: 0}}})
	h.expect("spawning_complete")
	h.send(&protocol.Stop{})
	h.expect("client_stopped")
	h.send(&protocol.Ack{Index: 0, HasIndex: true, Slot: 1, HasSlot: true})
	deadline := time.After(5 * time.Second)
	for {
		e, _, ok := h.next(deadline)
		if !ok {
			t.Fatal("no client_ready after the stop")
		}
		if e.Type() == protocol.TypeClientReady {
			break
		}
		t.Fatalf("%s sent between client_stopped and client_ready (an ack registered the worker)", e.Type())
	}
	if h.w.Registered() {
		t.Fatal("registered by an ack that came before client_ready")
	}
	h.send(&protocol.Ack{Index: 0, HasIndex: true, Slot: 1, HasSlot: true})
	h.expect("heartbeat")
	if !h.w.Registered() {
		t.Fatal("not registered by client_ready's ack")
	}
}
