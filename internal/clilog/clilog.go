// Package clilog is the logger of --log-format, for beadsctl and for the
// agent it hands over to (beadsctl-agent --foreground logs as beadsctl agent
// --foreground did): tint's text on a terminal, JSON otherwise.
//
// It is a leaf: it imports nothing of beadsctl's.
package clilog

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// New is the logger of format ("auto" or "": tint on a terminal, JSON
// otherwise; "text": tint, without colours off a terminal; "json") writing
// to w; noColor (or NO_COLOR) turns the colours off.
func New(format string, w io.Writer, noColor bool) (*slog.Logger, error) {
	switch format {
	case "auto", "":
		if IsTerminal(w) {
			return slog.New(tint.NewTextHandler(w, &tint.Options{NoColor: noColor || os.Getenv("NO_COLOR") != ""})), nil
		}
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text":
		return slog.New(tint.NewTextHandler(w, &tint.Options{NoColor: noColor || os.Getenv("NO_COLOR") != "" || !IsTerminal(w)})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format: unknown format %q (use auto, text or json)", format)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
