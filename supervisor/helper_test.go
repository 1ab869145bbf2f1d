package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into one of the helper children below.
// The daemon tests re-exec the test binary with it set, for children whose
// behaviour a shell cannot produce exactly (memory growth, split writes).
const helperEnv = "SUPERVISOR_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// helperArgv is the argv of a helper child; its mode goes in Spec.Env.
func helperArgv() []string { return []string{os.Args[0]} }

// platformHelpers are the helper modes of one OS's tests.
var platformHelpers = map[string]func() int{}

func runHelper(mode string) int {
	if h, ok := platformHelpers[mode]; ok {
		return h()
	}
	switch mode {
	case "leak":
		// Allocate and touch HELPER_RATE bytes per second, in 10ms steps,
		// forever. The chunks stay referenced, so RSS only grows.
		rate, _ := strconv.Atoi(os.Getenv("HELPER_RATE"))
		step := rate / 100
		var keep [][]byte
		for range time.Tick(10 * time.Millisecond) {
			b := make([]byte, step)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b) //lint:ignore SA4010 the chunks stay referenced so that RSS only grows
		}
	case "lines":
		// HELPER_LINES lines on stdout, each in three writes split mid-line,
		// every tenth also on stderr, then a last line without a newline.
		n, _ := strconv.Atoi(os.Getenv("HELPER_LINES"))
		pad := strings.Repeat("x", 50)
		for i := range n {
			os.Stdout.WriteString(fmt.Sprintf("line %06d ", i))
			os.Stdout.WriteString(pad[:25])
			os.Stdout.WriteString(pad[25:] + " end\n")
			if i%10 == 0 {
				os.Stderr.WriteString(fmt.Sprintf("err %06d", i))
				os.Stderr.WriteString(" end\n")
			}
		}
		os.Stdout.WriteString("partial without newline")
		return 0
	case "env":
		// Write the environment to HELPER_OUT, then announce it on the FIFO
		// HELPER_READY and wait to be stopped.
		if err := os.WriteFile(os.Getenv("HELPER_OUT"), []byte(strings.Join(os.Environ(), "\n")), 0o644); err != nil {
			return 2
		}
		f, err := os.OpenFile(os.Getenv("HELPER_READY"), os.O_WRONLY, 0)
		if err != nil {
			return 3
		}
		fmt.Fprintln(f, os.Getpid())
		f.Close()
		select {}
	case "threadfork":
		// Like dolt: a short child as it starts (dolt runs uname), then,
		// later, a long one forked by a thread other than the main one.
		// Each step waits for a line on stdin; the second prints the pid.
		runtime.LockOSThread() // the main thread stays with this goroutine
		if syscall.Gettid() != os.Getpid() {
			fmt.Fprintln(os.Stderr, "not on the main thread")
			return 2
		}
		in := bufio.NewReader(os.Stdin)
		in.ReadString('\n')
		if err := exec.Command("true").Run(); err != nil {
			return 3
		}
		fmt.Println("ran")
		in.ReadString('\n')
		started := make(chan int)
		go func() { // on another thread: the main one is locked to main
			c := exec.Command("sleep", "1000")
			if c.Start() != nil {
				started <- 0
				return
			}
			started <- c.Process.Pid
			select {}
		}()
		fmt.Println(<-started)
		select {}
	case "spam":
		// Write lines forever, a few per millisecond.
		for i := 0; ; i++ {
			fmt.Printf("spam %d\n", i)
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}
