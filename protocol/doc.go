// Package protocol is Locust's distributed-mode wire format without any
// socket: the message types, and a msgpack encoder and decoder that are
// byte-compatible with Locust 2.x (docs/protocol.md). It depends on the
// standard library only, so code that needs a message (stats, scenario)
// does not link a transport; the sockets are in protocol/zmq.
//
// Every frame is one msgpack array, Locust's envelope [type, data,
// node_id]. Encode and AppendEncode turn a typed Payload into that array;
// Decode (and a reusable Decoder) turn a frame back into an Envelope. The
// same type name carries different data in each direction ("heartbeat",
// "spawning_complete", "locustfile"), so decoding takes the Side that sent
// the frame. Types the protocol does not define decode as *Custom, with
// their data kept as generic Values, and encode back unchanged. glocust's
// optional extension fields (Stats.Seq, Heartbeat.Seq, MasterHeartbeat.Ack;
// docs/protocol.md section 9) are encoded only when set, so messages
// without them are Locust's byte for byte.
//
// Changes (versions.go) is the version table: the first Locust release of
// every message type and later data key; Handles tells whether a peer of a
// given Version handles a type, so the master and the worker send a peer
// only what its release knows (docs/protocol.md section 7.1).
//
// Decoding never panics and never allocates more than the frame's length
// implies: nesting is bounded (MaxDepth), lengths are checked against the
// bytes left, and a bad frame is a *DecodeError. The frequent message types
// are decoded straight from the bytes (decode_fast.go); every other frame
// goes through the generic Value tree (decode.go), and both paths give the
// same result (FuzzDecodeDifferential).
//
// # Concurrency
//
// The package functions (Encode, AppendEncode, Decode, the Append helpers)
// keep no state and are safe for concurrent use. A Decoder is not: it
// reuses its memory from one call to the next, so a decoded *Stats or
// *Heartbeat, and the slices it holds, are valid only until the next
// Decode on the same Decoder (its strings stay valid). The master owns one
// Decoder on its loop goroutine. Payload values are plain data with no
// locks; whoever holds one owns it.
package protocol
