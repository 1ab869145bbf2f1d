//go:build !unix

package bd

import "context"

// LockServer is a no-op where bd takes no flock.
func (f ServerFiles) LockServer(ctx context.Context) (unlock func(), err error) {
	return func() {}, nil
}
