//go:build !linux

package app

import "syscall"

// childProcAttr: no parent-death signal outside Linux; children are
// stopped when the master exits normally.
func childProcAttr() *syscall.SysProcAttr { return nil }
