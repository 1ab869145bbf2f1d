//go:build !linux

package schema

// folders: elsewhere each log path is stat'ed on its own (logstat_linux.go).
type folders struct{}

func openFolders([]string) folders { return folders{} }

func (folders) close() {}

func (folders) regular(_ int, p string) bool { return regularPath(p) }
