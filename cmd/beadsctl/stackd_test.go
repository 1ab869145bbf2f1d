//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stackd is the scripts' stack member: a small HTTP server for the
// dependency tests (stack.txtar). It fails at start (exit 3) unless every
// -need URL answers 200, as a web UI fails without its database; then it
// appends "start NAME" to -log, writes its pid to NAME.pid, serves GET
// /health (200 "ok") on -listen, and on SIGTERM appends "stop NAME" and exits 0.
//
//	stackd -name api -listen 127.0.0.1:PORT -need http://127.0.0.1:PORT2/health -log order.log
func stackd() int {
	fs := flag.NewFlagSet("stackd", flag.ContinueOnError)
	name := fs.String("name", "stackd", "name in the log")
	listen := fs.String("listen", "", "host:port to serve /health on (none: serve nothing)")
	logPath := fs.String("log", "order.log", "file to append start/stop lines to")
	var needs []string
	fs.Func("need", "a URL that must answer 200 at start (repeatable)", func(s string) error { needs = append(needs, s); return nil })
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	logLine := func(what string) {
		f, err := os.OpenFile(*logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s %s\n", what, *name)
			f.Close()
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, u := range needs {
		resp, err := client.Get(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: my dependency does not answer: %v\n", *name, err)
			logLine("failed")
			return 3
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "%s: my dependency answers %d\n", *name, resp.StatusCode)
			logLine("failed")
			return 3
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", *name, err)
			return 4
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		go http.Serve(ln, mux)
	}
	logLine("start")
	if err := os.WriteFile(*name+".pid", []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		return 5
	}
	<-ctx.Done()
	logLine("stop")
	return 0
}
