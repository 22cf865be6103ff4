package protocol

// Message type names as they appear in the first element of the envelope.
const (
	TypeClientReady      = "client_ready"
	TypeAck              = "ack"
	TypeHeartbeat        = "heartbeat"
	TypeStats            = "stats"
	TypeSpawn            = "spawn"
	TypeSpawning         = "spawning"
	TypeSpawningComplete = "spawning_complete"
	TypeClientStopped    = "client_stopped"
	TypeStop             = "stop"
	TypeQuit             = "quit"
	TypeReconnect        = "reconnect"
	TypeException        = "exception"
	TypeLogs             = "logs"
	TypeLocustfile       = "locustfile"
	TypeUpdateUserClass  = "update_user_class"
)

// Keys of the glocust extension fields (docs/protocol.md section 9).
const (
	KeySeq = "glocust_seq" // in stats and worker heartbeat data
	KeyAck = "glocust_ack" // in master heartbeat data

	// In worker heartbeat data (WorkerHealth).
	KeyCPUThrottled        = "glocust_cpu_throttled"
	KeyCPUThrottledSeconds = "glocust_cpu_throttled_seconds"
	KeyMemoryWorkingSet    = "glocust_memory_working_set"
	KeyMemoryLimit         = "glocust_memory_limit"
)

// Worker heartbeat states, exactly as Locust spells them.
const (
	StateReady    = "ready"
	StateSpawning = "spawning"
	StateRunning  = "running"
	StateStopped  = "stopped"
	StateMissing  = "missing"
)

// Side says which peer produced a frame. Some message types ("heartbeat",
// "spawning_complete", "locustfile") carry different data in each direction.
type Side uint8

const (
	// FromWorker marks frames sent by a worker (DEALER) to the master.
	FromWorker Side = iota
	// FromMaster marks frames sent by the master (ROUTER) to a worker.
	FromMaster
)

func (s Side) String() string {
	if s == FromMaster {
		return "master"
	}
	return "worker"
}

// Payload is the typed data of one message. Every message type of the
// protocol has a Go type implementing it; unknown types decode as *Custom.
type Payload interface {
	// MessageType returns the wire name of the message, e.g. "client_ready".
	MessageType() string
}

// Envelope is one decoded frame: Locust's [type, data, node_id] triple.
type Envelope struct {
	NodeID  string
	Payload Payload
}

// Type returns the wire type of the envelope's payload.
func (e Envelope) Type() string {
	if e.Payload == nil {
		return ""
	}
	return e.Payload.MessageType()
}

// ClassCount is one entry of a user_classes_count map. Locust sends these
// maps sorted by class name; slices keep the order exact on the wire.
type ClassCount struct {
	Class string
	Count int64
}

// ---- worker -> master ----

// ClientReady registers a worker. Version is the Locust version the worker
// claims; SkipVersionCheck sends the integer -1 instead, which every Locust
// 2.x master accepts without comparing versions.
type ClientReady struct {
	Version          string
	SkipVersionCheck bool
}

// Heartbeat is the worker's liveness message (sent every second).
type Heartbeat struct {
	State              string  // "ready", "spawning" or "running"
	CurrentCPUUsage    float64 // percent of one core
	CurrentMemoryUsage int64   // RSS in bytes
	// Seq, when HasSeq, is a glocust extension (key KeySeq, after the
	// standard keys): the last stats sequence number the worker assigned
	// (0 before its first report). It tells a glocust master that the
	// worker wants acknowledgements (MasterHeartbeat.Ack); Locust masters
	// read only the standard keys. docs/protocol.md section 9.
	Seq    uint64
	HasSeq bool
	// Health, when HasHealth, is a glocust extension (the WorkerHealth
	// keys, after KeySeq): the worker's cgroup throttling and memory.
	// docs/protocol.md section 9.
	Health    WorkerHealth
	HasHealth bool
}

// WorkerHealth is what a glocust worker knows about its own cgroup, sent
// in its heartbeats so that a glocust master can tell a saturated load
// generator from a slow target (docs/protocol.md section 9).
type WorkerHealth struct {
	// CPUThrottled is the fraction (0 to 1) of the CFS periods since the
	// previous heartbeat in which the cgroup used up its CPU quota and was
	// stopped (KeyCPUThrottled).
	CPUThrottled float64
	// CPUThrottledSeconds is the total time the cgroup was stopped so far
	// (KeyCPUThrottledSeconds).
	CPUThrottledSeconds float64
	// MemoryWorkingSet is the cgroup's memory minus its inactive file
	// cache, in bytes (KeyMemoryWorkingSet).
	MemoryWorkingSet int64
	// MemoryLimit is the cgroup's memory limit in bytes, 0 without one
	// (KeyMemoryLimit).
	MemoryLimit int64
}

// Spawning is sent by a worker on every spawn message it receives.
type Spawning struct{}

// SpawningComplete (worker -> master) reports the users a worker runs after
// applying a spawn message.
type SpawningComplete struct {
	UserClassesCount []ClassCount
	UserCount        int64
}

// ClientStopped is sent after a worker stopped its users on "stop".
type ClientStopped struct{}

// Quit is sent by either side: a worker leaving, or the master ending the run.
type Quit struct{}

// Exception reports an error raised inside a user.
type Exception struct {
	Msg       string
	Traceback string
}

// Logs carries a worker's recent log lines (Locust >= 2.29).
type Logs struct {
	WorkerID string
	Logs     []string
}

// Stats is the worker's periodic delta report.
type Stats struct {
	Stats            []StatsEntry
	Total            StatsEntry
	Errors           []StatsError
	UserClassesCount []ClassCount
	UserCount        int64
	// Seq is a glocust extension (key KeySeq, after user_count; 0: absent):
	// the report's sequence number, from 1, increasing by one per report a
	// glocust worker makes. A glocust master counts each (node id, Seq)
	// once; Locust masters read only the standard keys. docs/protocol.md
	// section 9.
	Seq uint64
}

// Bucket is one response-time bucket (rounded milliseconds) or one
// per-second counter (epoch second), with its count.
type Bucket struct {
	Key   int64
	Count int64
}

// StatsEntry is Locust's serialized StatsEntry. Times are milliseconds, as
// in Locust. HasTimings is false when no request with a response time was
// recorded, in which case total/max response times are the int 0 and the
// minimum is None on the wire, exactly as Python sends a fresh entry.
type StatsEntry struct {
	Name                 string
	Method               string
	LastRequestTimestamp float64 // epoch seconds; 0 encodes None
	StartTime            float64 // epoch seconds of the last reset
	NumRequests          int64
	NumNoneRequests      int64
	NumFailures          int64
	TotalResponseTime    float64
	MaxResponseTime      float64
	MinResponseTime      float64
	HasTimings           bool // false: min is None, total and max are int 0
	// IntTimings marks total/max/min response times that a Python peer sent
	// as ints (custom events may report int milliseconds); they re-encode
	// as ints. Bits: IntTotal, IntMax, IntMin. glocust itself sends floats.
	IntTimings         uint8
	TotalContentLength int64
	ResponseTimes      []Bucket // ascending keys are not required by Locust
	NumReqsPerSec      []Bucket
	NumFailPerSec      []Bucket
}

// IntTimings bits.
const (
	IntTotal uint8 = 1 << iota
	IntMax
	IntMin
)

// StatsError is one entry of the errors map. Key is Locust's sha256 key.
// FirstSeen/LastSeen (Locust >= 2.44) are epoch seconds; 0 encodes None.
type StatsError struct {
	Key         string
	Name        string
	Method      string
	Error       string
	Occurrences int64
	FirstSeen   float64
	LastSeen    float64
	HasSeen     bool // false: the 4-key form of Locust < 2.44
}

// GeneratorErrorPrefix starts the error text (StatsError.Error) of a
// request that failed because the load generator itself ran out of
// something: local ports, file descriptors, or CPU time for a connect. Such
// a failure says nothing about the target. glocust workers record them
// with this prefix (scenario's generator-side errors); the master counts
// them apart on /metrics. The rest of the text is an ordinary error text,
// so Locust masters show and key them as any other error.
const GeneratorErrorPrefix = "generator: "

// ---- master -> worker ----

// Ack answers client_ready. HasIndex is false for masters <= 2.10.2.
// A glocust master adds the worker's data slot (key "glocust_slot"),
// which Locust's workers ignore: the lowest slot no live worker holds,
// given again to a worker that replaces a departed one (scenario's unique
// test data is split by slot; a Locust master never reuses an index).
type Ack struct {
	Index    int64
	HasIndex bool
	Slot     int64
	HasSlot  bool
}

// MasterHeartbeat is the master's reply to a worker heartbeat: data None,
// or, from a glocust master to a worker whose heartbeat carried a Seq, the
// glocust extension {KeyAck: n}: n is the last stats Seq the master
// counted for that node id (0: none yet). Locust workers ignore the
// data. docs/protocol.md section 9.
type MasterHeartbeat struct {
	Ack    uint64
	HasAck bool
}

// Spawn carries a worker's absolute per-class user targets.
type Spawn struct {
	Timestamp        float64
	UserClassesCount []ClassCount
	Host             string
	HasHost          bool  // false: host is None
	StopTimeout      Value // float64 (HEAD), int64 or nil (2.12)
	ParsedOptions    *Map  // the master's options; may be nil
}

// MasterSpawningComplete is sent once to every worker when the ramp-up ends.
type MasterSpawningComplete struct {
	UserCount int64
}

// Stop asks a worker to stop its users.
type Stop struct{}

// Reconnect asks a worker to recreate its socket.
type Reconnect struct{}

// UpdateUserClass changes attributes of a user class (Locust >= 2.21). The
// data map is kept as sent.
type UpdateUserClass struct {
	Data *Map
}

// Locustfile is the -f - download request or reply; kept as raw data.
type Locustfile struct {
	Data Value
}

// Custom is any message type the protocol does not define, kept verbatim.
type Custom struct {
	Type string
	Data Value
}

func (*ClientReady) MessageType() string            { return TypeClientReady }
func (*Heartbeat) MessageType() string              { return TypeHeartbeat }
func (*Spawning) MessageType() string               { return TypeSpawning }
func (*SpawningComplete) MessageType() string       { return TypeSpawningComplete }
func (*ClientStopped) MessageType() string          { return TypeClientStopped }
func (*Quit) MessageType() string                   { return TypeQuit }
func (*Exception) MessageType() string              { return TypeException }
func (*Logs) MessageType() string                   { return TypeLogs }
func (*Stats) MessageType() string                  { return TypeStats }
func (*Ack) MessageType() string                    { return TypeAck }
func (*MasterHeartbeat) MessageType() string        { return TypeHeartbeat }
func (*Spawn) MessageType() string                  { return TypeSpawn }
func (*MasterSpawningComplete) MessageType() string { return TypeSpawningComplete }
func (*Stop) MessageType() string                   { return TypeStop }
func (*Reconnect) MessageType() string              { return TypeReconnect }
func (*UpdateUserClass) MessageType() string        { return TypeUpdateUserClass }
func (*Locustfile) MessageType() string             { return TypeLocustfile }
func (c *Custom) MessageType() string               { return c.Type }
