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
