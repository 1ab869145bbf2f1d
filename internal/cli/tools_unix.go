//go:build !windows

package cli

import "syscall"

// execTool replaces this process with the program at path: it returns only
// when the exec failed.
func execTool(path string, argv, env []string) error {
	return syscall.Exec(path, argv, env)
}
