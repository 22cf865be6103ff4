//go:build unix

package scenario

import "syscall"

// fileLimit is the process's soft limit on open files (ulimit -n).
func fileLimit() (uint64, bool) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, false
	}
	return uint64(l.Cur), true
}
