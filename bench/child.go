//go:build linux

package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The children are subcommands of the harness binary itself, so both tools
// supervise the very same executable and nothing else needs building.
//
//	bench child idle    [-pidfile F]                 sleep until killed
//	bench child trap    [-pidfile F]                 ignore SIGTERM/SIGINT/SIGHUP, sleep
//	bench child crash   [-after D] [-starts F]       record a start, exit 1 after D
//	bench child leak    [-pidfile F] [-rate B] [-cap B]  grow RSS by B bytes/s
//	bench child lines   [-pidfile F] -n N -done F    write N numbered lines fast, then sleep
//	bench child partial [-pidfile F] -n N -gap D -done F  write each line in two writes D apart
//	bench child forker  -pids F                      start grandchildren (one plain, one that
//	                                                 ignores SIGTERM, one double-forked) and sleep
func childMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "bench child: idle|trap|crash|leak|lines|partial|forker|grand|daemonize|ready|waitfor")
		return 2
	}
	kind, args := args[0], args[1:]
	fs := flag.NewFlagSet("child "+kind, flag.ContinueOnError)
	pidfile := fs.String("pidfile", "", "write \"pid start_unix_nano\" here at start")
	after := fs.Duration("after", 50*time.Millisecond, "crash: exit 1 after this long")
	starts := fs.String("starts", "", "crash: append one line per start")
	rate := fs.Int64("rate", 10<<20, "leak: bytes per second")
	capB := fs.Int64("cap", 1<<30, "leak: stop growing at this many bytes")
	n := fs.Int("n", 1000, "lines/partial: number of lines")
	gap := fs.Duration("gap", 2*time.Millisecond, "partial: pause between the halves of a line")
	done := fs.String("done", "", "lines/partial: create this file once everything is written")
	pids := fs.String("pids", "", "forker/grand: append grandchild pids here")
	ignoreTerm := fs.Bool("ignore-term", false, "grand: ignore SIGTERM and SIGINT")
	readyFile := fs.String("ready", "", "ready: write \"pid unix_nano\" here after -delay (the moment it is ready)")
	delay := fs.Duration("delay", 0, "ready: how long until ready")
	need := fs.String("need", "", "waitfor: exit 1 at once unless this file exists (its dependency is ready)")
	okFile := fs.String("ok", "", "waitfor: write \"pid start_unix_nano\" here once it runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pidfile != "" {
		writePidfile(*pidfile)
	}
	switch kind {
	case "idle":
		sleepForever()
	case "trap":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		sleepForever()
	case "crash":
		if *starts != "" {
			appendLine(*starts, strconv.Itoa(os.Getpid()))
		}
		time.Sleep(*after)
		fmt.Fprintln(os.Stderr, "crash child: exiting 1 on purpose")
		return 1
	case "leak":
		leak(*rate, *capB)
	case "lines":
		writeLines(*n)
		touch(*done)
		sleepForever()
	case "partial":
		writePartial(*n, *gap)
		touch(*done)
		sleepForever()
	case "forker":
		self, _ := os.Executable()
		for _, a := range [][]string{
			{"child", "grand", "-pids", *pids},
			{"child", "grand", "-ignore-term", "-pids", *pids},
			{"child", "daemonize", "-pids", *pids},
		} {
			c := exec.Command(self, a...)
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			go c.Wait() //nolint:errcheck // reaped; the exit status does not matter
		}
		sleepForever()
	case "daemonize":
		// Like `bd` auto-starting a background daemon: start it and leave at once,
		// so it is re-parented and no longer in the supervisor's process tree
		// (it stays in the process group).
		self, _ := os.Executable()
		c := exec.Command(self, "child", "grand", "-pids", *pids)
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "ready":
		time.Sleep(*delay)
		writePidfile(*readyFile)
		sleepForever()
	case "waitfor":
		if _, err := os.Stat(*need); err != nil {
			fmt.Fprintln(os.Stderr, "waitfor child: my dependency is not ready")
			return 1
		}
		writePidfile(*okFile)
		sleepForever()
	case "grand":
		if *ignoreTerm {
			signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		}
		appendLine(*pids, strconv.Itoa(os.Getpid()))
		sleepForever()
	default:
		fmt.Fprintf(os.Stderr, "bench child: unknown kind %q\n", kind)
		return 2
	}
	return 0
}

func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// writePidfile writes "pid start_unix_nano\n" atomically (temp + rename), so a
// reader never sees half a file.
func writePidfile(path string) {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	body := fmt.Sprintf("%d %d\n", os.Getpid(), time.Now().UnixNano())
	if err := os.WriteFile(tmp, []byte(body), 0o644); err == nil {
		os.Rename(tmp, path) //nolint:errcheck // the reader times out if this fails
	}
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	f.WriteString(line + "\n") //nolint:errcheck // best effort
	f.Close()
}

func touch(path string) {
	if path != "" {
		os.WriteFile(path, nil, 0o644) //nolint:errcheck // the reader times out if this fails
	}
}

// leaked holds what leak allocates, so that it stays reachable.
var leaked [][]byte

// leak grows the resident set by rate bytes per second in steps of 10 ms,
// touching every page so the memory is resident.
func leak(rate, capB int64) {
	var total int64
	step := rate / 100
	for {
		if total < capB {
			b := make([]byte, step)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			leaked = append(leaked, b)
			total += step
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// payload is line i's content (without newline): a marker, the sequence number,
// a filler whose length varies with i (so line ends do not line up with buffer
// sizes) and the number again, so a checker can tell an intact line from a fragment.
func payload(i int) string { return string(appendPayload(nil, i)) }

// appendPayload appends payload(i) to b without fmt: the child must write
// faster than either tool can take (with fmt.Sprintf per line it made ~2 M
// lines a second here, which was beadsctl's figure).
func appendPayload(b []byte, i int) []byte {
	b = append(b, 'L')
	b = append8(b, i)
	b = append(b, " the quick brown fox "...)
	b = append(b, fillers[i%len(fillers)]...)
	b = append(b, " jumps over the lazy dog "...)
	b = append8(b, i)
	return append(b, '|')
}

// append8 appends i as at least 8 digits, zero-padded (fmt's %08d).
func append8(b []byte, i int) []byte {
	var d [20]byte
	n := len(d)
	for v := i; v > 0 || n > len(d)-8; v /= 10 {
		n--
		d[n] = byte('0' + v%10)
	}
	return append(b, d[n:]...)
}

var fillers = func() []string {
	f := make([]string, 23)
	for i := range f {
		f[i] = strings.Repeat("x", i)
	}
	return f
}()

// writeLines writes n lines through a 32 KiB buffer: the pipe sees large writes
// that cut lines anywhere, as a busy daemon's output does.
func writeLines(n int) {
	w := bufio.NewWriterSize(os.Stdout, 32<<10)
	var line []byte
	for i := range n {
		line = append(appendPayload(line[:0], i), '\n')
		w.Write(line) //nolint:errcheck // a broken pipe shows as lost lines
	}
	w.Flush() //nolint:errcheck
}

// writePartial writes every line in two write(2) calls, gap apart, split mid-line.
func writePartial(n int, gap time.Duration) {
	for i := range n {
		p := payload(i)
		half := len(p) / 2
		os.Stdout.WriteString(p[:half]) //nolint:errcheck
		time.Sleep(gap)
		os.Stdout.WriteString(p[half:] + "\n") //nolint:errcheck
	}
}

// checkLines reads a log file and counts how many of the n payloads appear
// intact and timestamped (a non-empty prefix before the marker, the whole
// payload, then the end of the line). Everything else is lost or split.
func checkLines(path string, n int) (intact int, total int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	seen := make([]bool, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		total++
		i := strings.LastIndex(line, " L")
		if i < 1 {
			continue
		}
		p := line[i+1:]
		if len(p) < 9 {
			continue
		}
		seq, err := strconv.Atoi(p[1:9])
		if err != nil || seq < 0 || seq >= n || seen[seq] {
			continue
		}
		if p == payload(seq) {
			seen[seq] = true
			intact++
		}
	}
	return intact, total, sc.Err()
}
