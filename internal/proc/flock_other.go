//go:build !linux

package proc

import (
	"errors"
	"fmt"
	"runtime"
)

func flockHolders(string) ([]int, error) {
	return nil, fmt.Errorf("the holder of a flock cannot be read on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func flockHeld(string) (bool, error) {
	return false, fmt.Errorf("flocks cannot be listed on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
