//go:build !linux

package supervisor

import "os"

// newKernelSleeper: only Linux has one here (sleeper_linux.go).
func newKernelSleeper() sleeper { return nil }

func localFS(string) bool { return false }

func sameFilesRaw(string, os.FileInfo, string, os.FileInfo) (same, ok bool) { return false, false }
