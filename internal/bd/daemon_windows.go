//go:build windows

package bd

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// flockHeld: bd's Windows lock is not a flock; it is reported as not held.
func flockHeld(path string) (bool, error) {
	_, err := os.Stat(path)
	return false, err
}

// dialRefused reports whether a dial error means nothing listens.
func dialRefused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOENT)
}
