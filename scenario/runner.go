package scenario

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glocust/glocust/protocol"
)

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithHost sets the default host, used when neither the master nor the
// class sets one (the scenario file's top-level host).
func WithHost(host string) RunnerOption { return func(r *Runner) { r.defaultHost = host } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) RunnerOption {
	return func(r *Runner) {
		if l != nil {
			r.log = l
		}
	}
}

// WithExceptionHandler receives every user exception (task errors and
// recovered panics), e.g. to send Locust "exception" messages. It is called
// from user goroutines, concurrently.
func WithExceptionHandler(f func(msg, traceback string)) RunnerOption {
	return func(r *Runner) { r.onException = f }
}

// WithClock injects the clock used for stats timestamps and pacing
// (ConstantPacing/ConstantThroughput). Response times and waits always use
// the monotonic clock and real timers.
func WithClock(now func() time.Time) RunnerOption {
	return func(r *Runner) {
		if now != nil {
			r.now, r.realClock = now, false
		}
	}
}

// WithEnvironment gives the runner the process environment ("KEY=value"),
// which classes with HTTPConfig.TrustEnv read their proxies and CA bundle
// from. Without it the environment is empty.
func WithEnvironment(env []string) RunnerOption {
	return func(r *Runner) { r.env = slices.Clone(env) }
}

// WithVars sets values of the classes' Vars (the command line's --var),
// which the master's (SetMasterOptions) override.
func WithVars(vars map[string]string) RunnerOption {
	return func(r *Runner) { r.cliVars = maps.Clone(vars) }
}

// WithPlacement sets the worker's initial place in the cluster (default
// StandalonePlacement; see SetPlacement).
func WithPlacement(p Placement) RunnerOption { return func(r *Runner) { r.place = p } }

// WithStopTimeout sets the initial stop timeout (see SetStopTimeout).
func WithStopTimeout(d time.Duration) RunnerOption { return func(r *Runner) { r.stopTimeout = d } }

// Runner runs users of a set of classes at per-class targets. All methods
// are safe for concurrent use.
type Runner struct {
	stats       Stats
	log         *slog.Logger
	onException func(msg, traceback string)
	now         func() time.Time
	realClock   bool // now is time.Now: request end times are derived, not read
	dialer      net.Dialer
	resolver    Resolver
	env         []string
	defaultProf *httpProfile // shared by the classes with the zero HTTPConfig
	defaultHost string
	correct     bool  // latency correction (openmodel.go)
	rawStats    Stats // uncorrected copy of every request, when correcting

	iterations int64    // WithIterations: tasks per user, 0: no bound (iterations.go)
	trace      *tracing // WithTracer; nil: none (trace.go)

	ctx    context.Context // cancelled by Close; parent of every user
	cancel context.CancelFunc
	wg     sync.WaitGroup // user goroutines

	mu           sync.Mutex
	classes      map[string]*classRun
	order        []*classRun // sorted by name
	masterHost   string
	stopTimeout  time.Duration
	place        Placement              // the worker's place (SetPlacement)
	cliVars      map[string]string      // WithVars
	masterVars   map[string]string      // SetMasterOptions
	vars         map[string]string      // cliVars with masterVars over them; replaced, never modified
	pools        map[*DataSet]*dataPool // one per data set of the classes
	nextID       int64
	alive        int                      // user goroutines not yet exited
	idle         chan struct{}            // closed while alive == 0
	timers       map[*time.Timer]struct{} // graceful-stop deadlines pending
	closed       bool
	tagsFiltered bool // FilterTags ran

	timerWG sync.WaitGroup // graceful-stop deadline callbacks
	bg      sync.WaitGroup // background re-resolutions (resolve.go)

	seed *uint64 // WithSeed; nil: each class's own (a YAML scenario's seed)

	genMu   sync.Mutex // guards genWarn
	genWarn genWarnings

	userCount atomic.Int64
}

type classRun struct {
	name  string
	base  Class        // validated copy; Tasks is the full task list for update_user_class
	prof  *httpProfile // base.HTTP, compiled
	scope *varScope    // the class's variables
	pool  *dataPool    // base.Data's rows; nil: none
	want  int          // the last target Apply set
	// rowWait counts the users that did not start for want of a unique
	// row since the last Apply: a row released starts one of them again.
	rowWait int
	cfg     atomic.Pointer[classConfig]
	users   []*user // running users, oldest first
	begun   uint64  // users started, for their seeded random sources (seed.go)
}

// classConfig is the live, swappable part of a class.
type classConfig struct {
	weight, fixedCount int
	host               string
	wait               WaitTime
	onStart, onStop    TaskFunc
	tasks              *taskPicker
}

// NewRunner returns a runner for classes, recording into st (nil: discard).
// Invalid classes and duplicate names are logged and left out.
func NewRunner(classes []*Class, st Stats, opts ...RunnerOption) *Runner {
	r := &Runner{
		stats:     st,
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		realClock: true,
		resolver:  net.DefaultResolver,
		classes:   make(map[string]*classRun),
		idle:      make(chan struct{}),
		timers:    make(map[*time.Timer]struct{}),
		place:     StandalonePlacement,
		pools:     make(map[*DataSet]*dataPool),
	}
	close(r.idle)
	if r.stats == nil {
		r.stats = discardStats{}
	}
	for _, o := range opts {
		o(r)
	}
	r.vars = r.cliVars
	r.wrapCorrected()
	r.defaultProf = newProfile(HTTPConfig{}, r.env)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, c := range classes {
		if c == nil {
			continue
		}
		cp := *c
		cp.Tasks = cloneTasks(c.Tasks, 0)
		if err := cp.Validate(); err != nil {
			r.log.Error("scenario: skipping user class", "class", c.Name, "err", err)
			continue
		}
		if _, dup := r.classes[cp.Name]; dup {
			r.log.Error("scenario: skipping duplicate user class", "class", cp.Name)
			continue
		}
		cr := &classRun{name: cp.Name, base: cp, prof: r.profile(cp.HTTP), scope: cp.scope}
		if cr.scope == nil {
			cr.scope = scopeForVars(cp.Vars, cp.Data)
		}
		if d := cp.Data; d != nil {
			if r.pools[d] == nil {
				r.pools[d] = newDataPool(d, r.place)
			}
			cr.pool = r.pools[d]
		}
		if err := cr.prof.err; err != nil {
			r.log.Error("scenario: the HTTP configuration of a user class is unusable; its requests will fail", "class", cp.Name, "err", err)
		}
		cr.cfg.Store(&classConfig{
			weight: cp.Weight, fixedCount: cp.FixedCount, host: cp.Host, wait: cp.WaitTime,
			onStart: cp.OnStart, onStop: cp.OnStop, tasks: newTaskPicker(cp.Tasks, cp.Sequential),
		})
		r.classes[cp.Name] = cr
		r.order = append(r.order, cr)
	}
	slices.SortFunc(r.order, func(a, b *classRun) int { return strings.Compare(a.name, b.name) })
	return r
}

// profile compiles a class's HTTP configuration. Classes without one share
// the runner's default profile, so a Request that several of them use is
// rendered once (a Request is cached for one host and profile at a time).
func (r *Runner) profile(cfg HTTPConfig) *httpProfile {
	if reflect.ValueOf(cfg).IsZero() {
		return r.defaultProf
	}
	return newProfile(cfg, r.env)
}

// SetHost sets the master's host (the spawn message's "host"); when
// non-empty it wins over the class's and the default host. It applies to
// users started afterwards, as in Locust.
func (r *Runner) SetHost(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.masterHost = host
}

// SetPlacement sets the worker's place in the cluster: Locust's worker
// index, the slot of unique data it takes, and the number of shares (see
// Placement, DataUnique). The worker calls it before applying a spawn.
// Users keep the rows they hold; users started afterwards take rows of the
// new share, and a row of the old one is not given out again once its user
// released it.
//
// When the share changes, the classes with unique data start the users
// they lack (users that found no free row) up to their last targets: a
// worker that had no share when its users started (it registered before
// the worker it replaces was gone) starts them once a glocust master gives
// it that worker's slot.
func (r *Runner) SetPlacement(index, slot, count int) {
	p := Placement{Index: index, Slot: slot, Count: count}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := p != r.place
	r.place = p
	for _, dp := range r.pools {
		dp.setPlacement(p)
	}
	if !changed || r.closed {
		return
	}
	for _, cr := range r.order {
		if cr.pool == nil || cr.pool.set.Mode != DataUnique {
			continue
		}
		for len(cr.users) < cr.want {
			r.startUserLocked(cr)
		}
	}
}

// SetMasterOptions takes the values of the classes' Vars from the master's
// options (the spawn's parsed_options): a key named as a var sets it, as a
// Locust worker takes its master's custom arguments. Strings are taken as
// they are, numbers and booleans as Python prints them; None and other
// keys are ignored. Users started afterwards see the values.
func (r *Runner) SetMasterOptions(opts *protocol.Map) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mv := map[string]string{}
	for _, cr := range r.order {
		for _, name := range cr.scope.names {
			if !cr.scope.hasDef[cr.scope.index[name]] {
				continue
			}
			if s, ok := optionString(opts, name); ok {
				mv[name] = s
			}
		}
	}
	if maps.Equal(mv, r.masterVars) {
		return
	}
	r.masterVars = mv
	r.vars = maps.Clone(r.cliVars)
	if r.vars == nil {
		r.vars = map[string]string{}
	}
	maps.Copy(r.vars, mv)
}

// optionString reads a parsed_options value as the string Python's str()
// gives it.
func optionString(opts *protocol.Map, key string) (string, bool) {
	if opts == nil {
		return "", false
	}
	v, ok := opts.Get(key)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return pythonFloat(x), true
	case bool:
		if x {
			return "True", true
		}
		return "False", true
	}
	return "", false
}

// pythonFloat formats f as Python's repr does for common values.
func pythonFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// SetStopTimeout sets the grace time users get when Apply stops them (the
// spawn message's stop_timeout): 0 interrupts them at once, otherwise they
// may finish their current task within d.
func (r *Runner) SetStopTimeout(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopTimeout = d
}

// Apply sets absolute per-class user targets, starting or stopping users at
// once (the master paces the ramp). Classes not listed keep their users.
// Unknown class names are ignored (logged at debug level: a worker reports
// them to its master once, not at every spawn). Stopping removes the newest
// users of a class first, with the current stop timeout. Apply does not wait
// for stopped users to exit.
func (r *Runner) Apply(targets []protocol.ClassCount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, t := range targets {
		cr := r.classes[t.Class]
		if cr == nil {
			r.log.Debug("scenario: ignoring unknown user class", "class", t.Class, "count", t.Count)
			continue
		}
		n := max(int(t.Count), 0)
		cr.want, cr.rowWait = n, 0
		for len(cr.users) < n {
			r.startUserLocked(cr)
		}
		if len(cr.users) > n {
			stop := slices.Clone(cr.users[n:])
			slices.Reverse(stop) // newest first
			clear(cr.users[n:])
			cr.users = cr.users[:n]
			r.userCount.Add(-int64(len(stop)))
			r.stopUsersLocked(stop, r.stopTimeout)
		}
	}
}

// StopAll stops every user, as Locust's stop: with stopTimeout 0 users are
// interrupted at once (requests in flight are cancelled); otherwise waiting
// users stop at once and running users may finish their current task within
// stopTimeout, after which they are interrupted. on_stop runs for every
// user. StopAll returns when no user goroutine is left or ctx is done.
func (r *Runner) StopAll(ctx context.Context, stopTimeout time.Duration) {
	r.mu.Lock()
	var all []*user
	for _, cr := range r.order {
		for i := len(cr.users) - 1; i >= 0; i-- {
			all = append(all, cr.users[i])
		}
		cr.users = nil
		cr.want, cr.rowWait = 0, 0
	}
	r.userCount.Store(0)
	if stopTimeout > 0 {
		for _, u := range all {
			close(u.soft)
		}
	} else {
		cancelAll(all)
	}
	idle := r.idle
	r.mu.Unlock()

	if stopTimeout > 0 {
		t := time.NewTimer(stopTimeout)
		select {
		case <-idle:
		case <-t.C:
			r.log.Info("scenario: not all users finished their tasks in the stop timeout; stopping them", "stop_timeout", stopTimeout)
		case <-ctx.Done():
		}
		t.Stop()
		cancelAll(all)
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// Counts returns the number of running users per class, for every class
// (zeros included), sorted by class name.
func (r *Runner) Counts() []protocol.ClassCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]protocol.ClassCount, len(r.order))
	for i, cr := range r.order {
		out[i] = protocol.ClassCount{Class: cr.name, Count: int64(len(cr.users))}
	}
	return out
}

// UserCount returns the number of running users (users being stopped are
// not counted).
func (r *Runner) UserCount() int64 { return r.userCount.Load() }

// Close stops every user without grace and waits for all goroutines the
// runner started. The runner cannot be used afterwards. Close is idempotent.
func (r *Runner) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, cr := range r.order {
			cr.users = nil
		}
		r.userCount.Store(0)
		for t := range r.timers {
			if t.Stop() {
				r.timerWG.Done() // its callback will never run
			}
		}
		clear(r.timers)
	}
	r.mu.Unlock()
	r.cancel()
	r.timerWG.Wait()
	r.wg.Wait()
	r.bg.Wait() // users start re-resolutions: wait for them after the users
}

func cancelAll(us []*user) {
	for _, u := range us {
		u.cancel()
	}
}

func (r *Runner) stopUsersLocked(us []*user, grace time.Duration) {
	if grace <= 0 {
		cancelAll(us)
		return
	}
	for _, u := range us {
		close(u.soft)
	}
	var t *time.Timer
	r.timerWG.Add(1)
	t = time.AfterFunc(grace, func() {
		defer r.timerWG.Done()
		cancelAll(us)
		r.mu.Lock()
		delete(r.timers, t)
		r.mu.Unlock()
	})
	r.timers[t] = struct{}{}
}

func (r *Runner) startUserLocked(cr *classRun) {
	cfg := cr.cfg.Load()
	host := r.masterHost
	if host == "" {
		host = cfg.host
	}
	if host == "" {
		host = r.defaultHost
	}
	r.nextID++
	u := &user{class: cr, soft: make(chan struct{})}
	u.ctx, u.cancel = context.WithCancel(r.ctx)
	u.uc = UserContext{
		Class: cr.name, ID: r.nextID, Host: host, HTTP: &u.http,
		Rand: r.userRand(cr),
		r:    r, cpLastRun: r.now(),
	}
	u.uc.vars.place = r.place
	u.http.u, u.http.prof = &u.uc, cr.prof
	cr.users = append(cr.users, u)
	r.userCount.Add(1)
	if r.alive == 0 {
		r.idle = make(chan struct{})
	}
	r.alive++
	r.wg.Add(1)
	go r.runUser(u, r.vars)
}

// userExited is called by a user goroutine as its last action.
func (r *Runner) userExited(u *user) {
	r.mu.Lock()
	r.alive--
	if r.alive == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
	r.wg.Done()
}

// noRow takes a user that found no free unique row out of its class; the
// class gets the user back when a row is released (releaseRow). While
// users being stopped still hold rows (a class's users stopped and
// another's started on the same data, as a rebalance does), that is the
// expected wait and nothing is reported; otherwise the reason is reported
// as a user exception, as an exception in on_start would be.
func (r *Runner) noRow(u *user, pool *dataPool, err error) {
	r.mu.Lock()
	live := 0
	for _, cr := range r.order {
		if cr.pool == pool {
			live += len(cr.users)
		}
	}
	i := slices.Index(u.class.users, u)
	if i >= 0 {
		u.class.users = slices.Delete(u.class.users, i, i+1)
		r.userCount.Add(-1)
		u.class.rowWait++
	}
	// The live users other than u hold at most live-1 rows: more held
	// rows belong to users on their way out.
	waiting := pool.heldRows() > live-1
	r.mu.Unlock()
	if i >= 0 && !waiting {
		r.reportException(err.Error(), fmt.Sprintf("user class %s: no data row\n", u.uc.Class))
	}
}

// releaseRow gives back a stopping user's unique row and starts a user
// that found none, if a class sharing the data set is below its target.
func (r *Runner) releaseRow(pool *dataPool, row Row) {
	if !pool.release(row) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, cr := range r.order {
		if cr.pool == pool && cr.rowWait > 0 && len(cr.users) < cr.want {
			cr.rowWait--
			r.startUserLocked(cr)
			return
		}
	}
}

// removeSelf removes a user that stopped on its own (ErrStopUser, failed
// on_start) from its class, unless a stop already removed it.
func (r *Runner) removeSelf(u *user) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(u.class.users, u); i >= 0 {
		u.class.users = slices.Delete(u.class.users, i, i+1)
		r.userCount.Add(-1)
	}
}

func (r *Runner) reportException(msg, traceback string) {
	r.log.Error("scenario: user exception", "msg", msg, "traceback", traceback)
	if r.onException != nil {
		r.onException(msg, traceback)
	}
}
