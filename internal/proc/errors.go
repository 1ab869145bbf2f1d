package proc

import (
	"errors"
	"os"
	"syscall"
)

// unwrapped keeps Verify's sentinel but drops its "pid N:" prefix, which Signal's own message repeats.
func unwrapped(err error) error {
	for _, s := range []error{ErrUnknownStart, ErrNotOurs, ErrGone} {
		if errors.Is(err, s) {
			if s == ErrNotOurs {
				return err // it says which process holds the pid now
			}
			return s
		}
	}
	return err
}

// gone maps "no such process" to ErrGone.
func gone(err error) error {
	if errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrProcessDone) {
		return ErrGone
	}
	return err
}
