//go:build !linux

package bd

import (
	"errors"
	"runtime"
)

func lockHolders(string) ([]int, error) {
	return nil, errors.New("the holder of a flock cannot be read on " + runtime.GOOS + "; stop the daemon by hand (bd daemon --stop)")
}
