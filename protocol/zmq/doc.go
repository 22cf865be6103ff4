// Package zmq moves protocol frames between Locust peers over ZeroMQ:
// a worker's DEALER (DialDealer, go-zeromq's socket, as libzmq's peers
// expect) and the master's ROUTER (ListenRouter, a native ZMTP 3.0
// implementation), plus an in-memory ROUTER (InprocRouter) for a
// standalone run. All three are a Transport of Frames: a payload and, on
// the ROUTER side, the peer's identity, which Locust keeps equal to the
// worker's node id. This package knows nothing of the payload's format
// (package protocol).
//
// # The native ROUTER
//
// ListenRouter's tcp:// endpoints are served by zmtp_router.go instead of
// go-zeromq's ROUTER, whose send scans every connection (O(N) per message)
// and writes each frame in two syscalls from a fresh goroutine. The wire
// format is ZMTP 3.0 (RFC 23) with the NULL mechanism:
//
//   - Greeting: 64 bytes (signature FF 00×8 7F, version 3.0, mechanism
//     "NULL", as-server 0). A peer's version 3.x is accepted, as libzmq does.
//   - One READY command each way. Ours carries Socket-Type=ROUTER; the
//     peer's must say Socket-Type=DEALER, and its Identity property is the
//     routing id. An empty identity gets a generated one, as libzmq does
//     (a zero byte and a 32-bit counter): such a peer is an unknown node to
//     the master.
//   - Then frames: a flags byte (MORE, LONG, COMMAND), a 1- or 8-byte size
//     and the body. A DEALER's message is a single frame here; a
//     multi-frame message is reported by Recv as a *BadFrame (its extra
//     frames are skipped without being allocated). PING is answered with
//     PONG; other commands are ignored.
//
// What it guarantees the master:
//
//   - A frame, or a multipart message, larger than the frame limit
//     (WithMaxFrameSize) closes the connection before anything is allocated
//     for it; so do reserved flag bits. Recv reports such closes as a
//     *BadFrame with an empty Peer.
//   - Send looks the identity up in a map (O(1)) and copies the framed
//     payload into that peer's queue; it never waits for a peer. A peer
//     whose queue is full (1,024 messages or 256 MiB) or whose write misses
//     the write timeout (WithWriteTimeout, DefaultWriteTimeout) is dropped:
//     its connection is closed, and later sends to its identity are
//     dropped silently, as libzmq does for unknown peers.
//   - Each handshake runs in its own goroutine, bounded by
//     WithHandshakeTimeout, so a silent TCP client cannot keep other
//     workers from connecting.
//   - Duplicate identity: unlike libzmq (which, without ROUTER_HANDOVER,
//     refuses the newcomer), the newer connection takes the identity over
//     and the older one is closed. A worker that reconnects with the same
//     node id is served at once, even before the master noticed that its
//     old connection died.
//   - A connection that ends is forgotten; Recv is not told (Locust's
//     master learns it from missing heartbeats), except for the closes
//     described above.
//
// How it serves connections: on Linux, after its handshake every
// connection is served by one poller goroutine with an epoll set of its
// own, in rounds a batch interval apart (WithBatchInterval, default 50 ms;
// zmtp_poller_linux.go). A round parses what arrived with a push parser
// (zmtp_parser.go) and hands the round's messages to Recv together, so a
// consumer on another thread wakes once per round. Reads and writes are
// raw read(2) and write(2) calls on the non-blocking socket
// (zmtp_rawio_linux.go), so the runtime's monitor thread is not woken per
// message, and received bodies come from free lists that
// Router.ReleasePayload refills. Sent frames wait in their peer's queue
// until Router.Flush or the next round. Elsewhere, or with a negative batch
// interval, each connection has one reader goroutine and one writer
// goroutine, and Flush does nothing.
//
// # Concurrency
//
// Send, Recv and Close of every Transport here are safe for concurrent
// use, and Close unblocks both and is safe to call more than once. Recv
// never blocks on one peer. Router.Close closes the listener and every
// connection and waits for all the router's goroutines; DialDealer's
// transport owns one reader goroutine, which its Close ends; its Close
// also lets the frames Send returned for reach the peer (it shuts the
// write side and waits, at most DefaultCloseLinger, for the peer to close:
// linger.go). The poller
// never waits on a connection's lock: a connection a sender holds is
// written in the next round. A payload returned by Recv belongs to the
// caller until it hands it to ReleasePayload, after which it must hold no
// reference into it.
package zmq
