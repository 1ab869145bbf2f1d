//go:build !unix

package bdsim

// The bd 1.x mode needs flock and process groups: on other systems every
// server operation fails with errV1Unsupported (the commands say so).

import (
	"errors"
	"syscall"
	"time"
)

const v1Supported = false

var errV1Unsupported = errors.New("bdsim simulates bd 1.x server mode on unix only")

func detachedAttr() *syscall.SysProcAttr    { return nil }
func serverAlive(int) bool                  { return false }
func listDoltProcessPIDs() []int            { return nil }
func isDoltProcess(int) bool                { return false }
func isProcessInDir(int, string) bool       { return false }
func findPIDOnPort(int) int                 { return 0 }
func killPID(int) error                     { return errV1Unsupported }
func gracefulStop(int, time.Duration) error { return errV1Unsupported }
func lockStart(string) (func(), error)      { return nil, errV1Unsupported }
