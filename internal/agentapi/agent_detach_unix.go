//go:build !windows

package agentapi

import "syscall"

// DetachedSysProcAttr starts a process in its own session, detached from the
// caller's terminal and process group: how apply starts the agent.
func DetachedSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// ReadyPipeSupported reports whether a readiness pipe can be passed to a child
// (exec.Cmd.ExtraFiles).
const ReadyPipeSupported = true
