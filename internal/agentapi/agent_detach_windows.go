package agentapi

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// DetachedSysProcAttr starts a process detached from the caller's console.
func DetachedSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS}
}

// ReadyPipeSupported reports whether a readiness pipe can be passed to a child
// (exec.Cmd.ExtraFiles is not supported on Windows).
const ReadyPipeSupported = false
