package cli

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
)

// execTool runs the program at path with this process's stdin, stdout and
// stderr and exits with its exit code (Windows has no exec: Ctrl-C reaches
// both processes through the console, and this one waits for the child's
// exit). It returns only when the program did not start.
func execTool(path string, argv, env []string) error {
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	signal.Ignore(os.Interrupt)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		return err
	}
	os.Exit(0)
	return nil
}
