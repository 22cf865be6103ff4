package app

import "syscall"

// childProcAttr makes --processes children receive SIGTERM when the master
// dies, even by SIGKILL.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
