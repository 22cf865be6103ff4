package worker

import (
	"crypto/rand"
	"encoding/hex"
)

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	// uuid4 layout, as Python's uuid4().hex.
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b[:])
}
