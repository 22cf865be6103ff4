package interop

// Hostile peers against a glocust master: a rogue DEALER sending garbage, a
// peer claiming huge frames, and a peer that never reads.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
	"github.com/glocust/glocust/internal/zmtptest"
	"github.com/glocust/glocust/protocol"
)

// goldenFrames loads every captured frame of protocol/testdata/golden.
func goldenFrames(t *testing.T) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "protocol", "testdata", "golden", "*", "*.bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden frames: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// rogueExcluded are the message types that a well-formed frame from an
// unknown peer may legitimately act on (register it, take it back as a
// worker, count its stats or exceptions): the rogue never sends a frame that
// decodes as one of them, so that whatever it sends, the real workers'
// numbers and users must stay exactly as without it.
var rogueExcluded = []string{protocol.TypeClientReady, protocol.TypeHeartbeat, protocol.TypeStats,
	protocol.TypeSpawning, protocol.TypeSpawningComplete, protocol.TypeException}

func rogueAllowed(f []byte) bool {
	env, err := protocol.Decode(f, protocol.FromWorker)
	return err != nil || !slices.Contains(rogueExcluded, env.Type())
}

// lengthPrefixes are msgpack bytes followed by a big-endian length.
var lengthPrefixes = map[byte]int{0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4, 0xdc: 2, 0xdd: 4, 0xde: 2, 0xdf: 4}

// mutate returns one hostile frame derived from the corpus.
func mutate(r *rand.Rand, corpus [][]byte) []byte {
	pick := func() []byte { return bytes.Clone(corpus[r.IntN(len(corpus))]) }
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	switch r.IntN(12) {
	case 0: // random bytes
		return junk(r.IntN(700))
	case 1: // bit flips
		f := pick()
		for range 1 + r.IntN(8) {
			if len(f) > 0 {
				f[r.IntN(len(f))] ^= 1 << r.IntN(8)
			}
		}
		return f
	case 2: // random bytes overwritten
		f := pick()
		for range 1 + r.IntN(4) {
			if len(f) > 0 {
				f[r.IntN(len(f))] = byte(r.Uint32())
			}
		}
		return f
	case 3: // truncated
		f := pick()
		return f[:r.IntN(len(f)+1)]
	case 4: // junk appended
		return append(pick(), junk(1+r.IntN(64))...)
	case 5: // junk inserted
		f := pick()
		i := r.IntN(len(f) + 1)
		return slices.Insert(f, i, junk(1+r.IntN(32))...)
	case 6: // two frames spliced
		a, b := pick(), pick()
		return append(a[:r.IntN(len(a)+1)], b[r.IntN(len(b)+1):]...)
	case 7: // a length inside the msgpack claims a huge size
		f := pick()
		var at []int
		for i, c := range f {
			if _, ok := lengthPrefixes[c]; ok {
				at = append(at, i)
			}
		}
		if len(at) == 0 {
			return append([]byte{0x93, 0xdd, 0xff, 0xff, 0xff, 0xff}, f...)
		}
		i := at[r.IntN(len(at))]
		for j := 1; j <= lengthPrefixes[f[i]] && i+j < len(f); j++ {
			f[i+j] = 0xff
		}
		return f
	case 8: // deep nesting: arrays or maps of one element, many levels
		depth := 1 + r.IntN(200_000)
		b := bytes.Repeat([]byte{[]byte{0x91, 0x81, 0xdc}[r.IntN(3)]}, depth)
		if b[0] == 0xdc {
			b = bytes.Repeat([]byte{0xdc, 0x00, 0x01}, depth/3+1)
		}
		return append([]byte{0x93, 0xa4, 'r', 'o', 'g', 'u'}, b...)
	case 9: // envelopes of the wrong shape
		shapes := [][]byte{
			{0x90}, {0x91, 0xa4, 'q', 'u', 'i', 't'}, {0x92, 0xa4, 'q', 'u', 'i', 't', 0xc0},
			{0x94, 0xa4, 'q', 'u', 'i', 't', 0xc0, 0xa1, 'x', 0xc0}, {0x93, 0x01, 0xc0, 0xa1, 'x'},
			{0x93, 0xc0, 0xc0, 0xc0}, {0x93, 0xa4, 'q', 'u', 'i', 't', 0xc0, 0x05},
			{0x80}, {0xc1}, {0xa5, 'h', 'e', 'l', 'l', 'o'}, {0xd4, 0x01, 0x02},
			{0x93, 0xa9, 'h', 'e', 'a', 'r', 't', 'b', 'e', 'a', 't', 0xc0, 0xa1, 'x'},
			{0x93, 0xa9, 'h', 'e', 'a', 'r', 't', 'b', 'e', 'a', 't', 0x81, 0xa5, 's', 't', 'a', 't', 'e', 0x07, 0xa1, 'x'},
			{0x93, 0xa5, 's', 't', 'a', 't', 's', 0xa3, 'b', 'a', 'd', 0xa1, 'x'},
		}
		return shapes[r.IntN(len(shapes))]
	case 10: // empty frame
		return nil
	default: // a captured frame as is (master->worker frames included)
		return pick()
	}
}

// rogueMessages returns n messages (each one or more frames).
func rogueMessages(t *testing.T, seed uint64, n int) [][][]byte {
	t.Helper()
	corpus := goldenFrames(t)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	frame := func() []byte {
		for {
			if f := mutate(r, corpus); rogueAllowed(f) {
				return f
			}
		}
	}
	msgs := make([][][]byte, 0, n)
	for len(msgs) < n {
		if r.IntN(10) == 0 { // multipart: what a DEALER must never send
			parts := [][]byte{nil, frame()}
			if r.IntN(2) == 0 {
				parts = [][]byte{frame(), frame(), frame()}
			}
			msgs = append(msgs, parts)
			continue
		}
		msgs = append(msgs, [][]byte{frame()})
	}
	return msgs
}

// rogue sends msgs to addr as a DEALER with the given identity, reading and
// discarding whatever comes back, reconnecting when the master hangs up. It
// returns how many messages were written and how many times the master
// closed the connection; it stops early if the master refuses 20 handshakes
// in a row.
func rogue(t *testing.T, addr, identity string, msgs [][][]byte, deadline time.Time) (sent, closes int) {
	t.Helper()
	var p *zmtptest.Peer
	refused := 0
	for i := 0; i < len(msgs) && time.Now().Before(deadline); {
		if p == nil {
			var err error
			if p, err = zmtptest.Dial(addr, identity, 2*time.Second, peerBuf); err != nil {
				refused++
				if refused >= 20 {
					t.Logf("rogue: the master refuses the rogue's handshakes (%v) after %d messages", err, sent)
					return sent, closes
				}
				time.Sleep(50 * time.Millisecond) // back off before the next handshake
				continue
			}
			refused = 0
			// the master's replies, unread; the copy ends with the connection
			go func(p *zmtptest.Peer) { _, _ = io.Copy(io.Discard, p.Conn()) }(p)
		}
		// a batch of up to 64 messages per write
		var buf []byte
		j := i
		for ; j < len(msgs) && j < i+64; j++ {
			for k, f := range msgs[j] {
				buf = zmtptest.AppendFrame(buf, f, k < len(msgs[j])-1, false)
			}
		}
		err := p.Conn().SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err == nil {
			_, err = p.Conn().Write(buf)
		}
		if err != nil {
			closes++
			p.Close()
			p = nil
			i = j // the batch may have been partly read: count it as sent
			sent = j
			continue
		}
		i, sent = j, j
	}
	if p != nil {
		// Deliberate: a moment for the master to read the last batch before
		// the close; nothing is asserted about it.
		time.Sleep(200 * time.Millisecond)
		p.Close()
	}
	return sent, closes
}

// TestMasterRogueDealer: during a run with two glocust workers, a rogue
// DEALER sends 10,000 random and mutated frames (mutations of the captured
// golden frames, multipart messages, msgpack length bombs, deep nesting,
// envelopes of the wrong shape). The master keeps running and exits 0, the
// workers' numbers are exactly those of a run without the rogue (CSV counts
// equal the target's, users per worker equal Locust's dispatcher's answer),
// and the rogue's identity appears in the master's log.
func TestMasterRogueDealer(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "run")
	// No -t: the run lasts until the attack is over, however long a loaded
	// machine takes to get there (with -t 15s the run once ended before a
	// late rogue had sent its messages, and the test took that for a crash).
	m := c.glocustMaster("--headless", "--expect-workers", "2", "-u", "10", "-r", "10",
		"--csv", csv, "--exit-code-on-error", "0")
	w1, w2 := c.glocustWorker(), c.glocustWorker()
	msgs := rogueMessages(t, 20261127, 10_000)
	waitTarget(t, c.target, "GET /", 0, 30*time.Second)

	id := testNodeID("rogue")
	start := time.Now()
	sent, closes := rogue(t, "127.0.0.1:"+strconv.Itoa(c.port), id, msgs, time.Now().Add(9*time.Second))
	t.Logf("rogue %s: %d messages in %v; the master closed the connection %d times", id, sent, time.Since(start).Round(time.Millisecond), closes)
	if !m.Running() {
		t.Fatalf("the master died during the rogue's attack:\n%s", m.MustOutput(t))
	}
	if sent < len(msgs) && !strings.Contains(m.MustOutput(t), id) {
		t.Errorf("the rogue could send only %d of %d messages in 9 s", sent, len(msgs))
	}
	stopMaster(t, m, 60*time.Second)
	mustExit(t, w1, 20*time.Second, 0)
	mustExit(t, w2, 20*time.Second, 0)
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)
	id1, got1 := glocustWorkerFinal(t, w1)
	id2, got2 := glocustWorkerFinal(t, w2)
	checkOracle(t, 10, 10, map[string]map[string]int{id1: got1, id2: got2})
	if !strings.Contains(m.MustOutput(t), id) {
		t.Errorf("the master's log does not name the rogue %s", id)
	}
}

// TestMasterHugeFrame: ZMTP frames whose 8-byte length claims 1 TiB, 8 GiB
// or 2 GiB (after a valid greeting and handshake, on a raw TCP socket) are
// refused: the master closes the connection within 5 s, stays up, and its
// resident and virtual memory do not grow by anything near the claim.
// Msgpack lengths claiming 4 Gi elements inside a small frame must not be
// allocated either.
func TestMasterHugeFrame(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.glocustMaster("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m)
	addr := "127.0.0.1:" + strconv.Itoa(c.port)
	rss0, err1 := procStatus(m.PID(), "VmHWM")
	virt0, err2 := procStatus(m.PID(), "VmPeak")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}

	for _, claim := range []uint64{1 << 40, 1 << 33, 1 << 31} {
		for _, more := range []bool{false, true} {
			p, err := zmtptest.Dial(addr, testNodeID("hugeframe"), 5*time.Second, peerBuf)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			var buf []byte
			if more { // a small first frame with MORE, then the huge one
				buf = zmtptest.AppendFrame(buf, []byte("x"), true, false)
			}
			buf = append(buf, 0x02)
			for i := 7; i >= 0; i-- {
				buf = append(buf, byte(claim>>(8*i)))
			}
			buf = append(buf, bytes.Repeat([]byte{0x93}, 4096)...)
			start := time.Now()
			if err := p.Conn().SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			_, werr := p.Conn().Write(buf)
			_, rerr := io.Copy(io.Discard, p.Conn())
			p.Close()
			closed := rerr == nil || isClosedErr(rerr) || (werr != nil && isClosedErr(werr))
			if !closed {
				t.Errorf("a frame claiming %d bytes (after a MORE frame: %v): the connection is still open after 5 s (read: %v)", claim, more, rerr)
			} else {
				t.Logf("a frame claiming %d bytes (MORE first: %v): closed after %v", claim, more, time.Since(start).Round(time.Millisecond))
			}
			if !m.Running() {
				t.Fatalf("the master died on a frame claiming %d bytes:\n%s", claim, m.MustOutput(t))
			}
		}
	}

	// msgpack length bombs inside small, well-framed messages, then a
	// client_ready from the same peer: once the master lists it, it has
	// handled the bombs (one connection's frames are handled in order).
	id := testNodeID("hugefield")
	p, err := zmtptest.Dial(addr, id, 5*time.Second, peerBuf)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.Conn()) }() // the master's replies, unread; ends with the connection
	ready, err := protocol.Encode(id, &protocol.ClientReady{Version: testenv.LocustVersion})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff},                                      // array32 of 4 Gi elements
		{0x93, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},                           // str32 of 4 GiB as type
		{0x93, 0xa5, 's', 't', 'a', 't', 's', 0xdf, 0xff, 0xff, 0xff, 0xff}, // map32 of 4 Gi pairs
		{0x93, 0xa4, 'l', 'o', 'g', 's', 0xc6, 0xff, 0xff, 0xff, 0xf0, 0},   // bin32 of ~4 GiB
		ready,
	} {
		if err := p.Send(f); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitWorkers(t, web, "the peer that sent the length bombs registered", 10*time.Second, func(ws []workerInfo) bool {
		_, ok := workerByID(ws, id)
		return ok
	})
	p.Close()

	if !m.Running() {
		t.Fatalf("the master died:\n%s", m.MustOutput(t))
	}
	rss1, err1 := procStatus(m.PID(), "VmHWM")
	virt1, err2 := procStatus(m.PID(), "VmPeak")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	t.Logf("master peak RSS %d -> %d kB, peak virtual %d -> %d kB", rss0, rss1, virt0, virt1)
	if rss1-rss0 > 256<<10 {
		t.Errorf("the master's peak RSS grew by %d MiB", (rss1-rss0)>>10)
	}
	if virt1-virt0 > 1<<20 {
		t.Errorf("the master's peak virtual size grew by %d MiB: a claimed size was allocated", (virt1-virt0)>>10)
	}
}

// TestMasterSlowPeer: a peer that completes the handshake, registers, and
// then floods heartbeats (each one makes the master send a reply) while
// never reading, with a tiny receive buffer, so that the master's socket to
// it fills up. A well-behaved worker's heartbeats must still be answered
// within one heartbeat interval (1 s) the whole time. (go-zeromq/zmq4's
// ROUTER holds one writer lock during a TCP write, so one peer that does
// not read blocks the sends to every other peer; glocust's own ROUTER
// drops such a peer instead, see protocol/zmq/doc.go.)
func TestMasterSlowPeer(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.glocustMaster("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m)
	goodID := slowPeerCheck(t, "127.0.0.1:"+strconv.Itoa(c.port), web)
	if !m.Running() {
		t.Fatalf("the master died:\n%s", m.MustOutput(t))
	}
	ws, err := masterWorkers(web)
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := workerByID(ws, goodID); !ok || w.State == "missing" {
		t.Errorf("the good worker is %+v (listed: %v)", w, ok)
	}
}

// slowPeerCheck runs the slow-peer scenario against the master at addr,
// whose web UI is at web. It fails t if a heartbeat reply to the good peer
// takes more than 1 s, and returns the good peer's node id.
func slowPeerCheck(t *testing.T, addr, web string) string {
	t.Helper()
	encode := func(id string, p protocol.Payload) []byte {
		b, err := protocol.Encode(id, p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	goodID := testNodeID("good")
	good, err := zmtptest.Dial(addr, goodID, 5*time.Second, peerBuf)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	replies := make(chan string, 1024)
	go func() {
		for {
			msg, err := good.Recv(maxRecv)
			if err != nil {
				close(replies)
				return
			}
			if len(msg) != 1 {
				replies <- fmt.Sprintf("multipart:%d", len(msg))
				continue
			}
			env, err := protocol.Decode(msg[0], protocol.FromMaster)
			if err != nil {
				replies <- "undecodable"
				continue
			}
			replies <- env.Type()
		}
	}()
	if err := good.Send(encode(goodID, &protocol.ClientReady{Version: testenv.LocustVersion})); err != nil {
		t.Fatal(err)
	}
	waitReply := func(want string, timeout time.Duration) (time.Duration, error) {
		start := time.Now()
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		for {
			select {
			case typ, ok := <-replies:
				if !ok {
					return 0, errors.New("the master closed the good worker's connection")
				}
				if typ == want {
					return time.Since(start), nil
				}
			case <-timer.C:
				return timeout, fmt.Errorf("no %s within %v", want, timeout)
			}
		}
	}
	if _, err := waitReply(protocol.TypeAck, 10*time.Second); err != nil {
		t.Fatalf("good worker: %v", err)
	}

	badID := testNodeID("slowpeer")
	bad, err := zmtptest.Dial(addr, badID, 5*time.Second, peerBuf, zmtptest.RcvBuf(2048))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Send(encode(badID, &protocol.ClientReady{Version: testenv.LocustVersion})); err != nil {
		t.Fatal(err)
	}
	waitWorkers(t, web, "both peers registered", 10*time.Second, nWorkers(2))

	heartbeat := func() (time.Duration, error) {
		if err := good.Send(encode(goodID, &protocol.Heartbeat{State: protocol.StateReady})); err != nil {
			return 0, err
		}
		return waitReply(protocol.TypeHeartbeat, 3*time.Second)
	}
	var base time.Duration
	for range 5 {
		lat, err := heartbeat()
		if err != nil {
			t.Fatalf("heartbeat replies before the flood: %v", err)
		}
		base = max(base, lat)
		time.Sleep(100 * time.Millisecond) // deliberate: heartbeats spread like a worker's
	}

	// The bad peer sends heartbeats (each makes the master send a reply) in
	// batches of 512 and never reads. After each batch the good peer
	// measures one heartbeat round trip, which also paces the flood to the
	// master's speed: the master's inbound backlog stays at one batch (so the
	// measurement is not about a flood outrunning a slow, e.g. -race, build),
	// while its replies to the bad peer pile up until its socket buffers
	// (up to 4 MiB with Linux's default tcp_wmem) are full.
	var flood []byte
	hb := encode(badID, &protocol.Heartbeat{State: protocol.StateReady})
	for range 512 {
		flood = zmtptest.AppendFrame(flood, hb, false, false)
	}
	var (
		floodBytes int64
		floodErr   error
		floodEnd   time.Duration
		worst      time.Duration
		n          int
		errs       []string
	)
	start := time.Now()
	end := start.Add(15 * time.Second)
	for time.Now().Before(end) {
		if floodErr == nil {
			// a write cut short by the deadline resumes where it stopped,
			// so that the stream stays well framed
			for off := 0; off < len(flood); {
				if err := bad.Conn().SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				w, err := bad.Conn().Write(flood[off:])
				off += w
				floodBytes += int64(w)
				if err != nil && !isTimeout(err) {
					floodErr, floodEnd = err, time.Since(start)
					// the master dropped the bad peer: measure 2 s more
					if e := time.Now().Add(2 * time.Second); e.Before(end) {
						end = e
					}
					break
				}
				if err != nil {
					break // blocked: the master stopped reading it; measure
				}
			}
		} else {
			time.Sleep(50 * time.Millisecond) // deliberate: the good peer's heartbeats paced without a flood
		}
		lat, err := heartbeat()
		n++
		worst = max(worst, lat)
		if err != nil {
			errs = append(errs, err.Error())
			if strings.Contains(err.Error(), "closed") {
				break
			}
		}
	}

	// how much the master had queued for the bad peer (or whether it hung up)
	if err := bad.Conn().SetReadDeadline(time.Now().Add(1500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	pending, rerr := io.Copy(io.Discard, bad.Conn())
	t.Logf("heartbeat reply latency: worst %v before the flood, worst %v over %d heartbeats during it; "+
		"the bad peer wrote %d bytes (write error after %v: %v); then read %d pending bytes (%v)",
		base, worst, n, floodBytes, floodEnd.Round(time.Millisecond), floodErr, pending, rerr)
	if len(errs) > 0 {
		t.Errorf("good worker during the flood: %v", errs)
	}
	if worst > time.Second {
		t.Errorf("a heartbeat reply to the good worker took %v while a peer did not read (want <= 1 s)", worst)
	}
	return goodID
}
