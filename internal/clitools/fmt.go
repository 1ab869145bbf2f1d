package clitools

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/schema"
)

type fmtOptions struct {
	check bool
	diff  bool
}

func newFmtCmd(g *cli.Globals) *cobra.Command {
	o := &fmtOptions{}
	c := &cobra.Command{
		Use: "fmt [-check] [-diff] [FILE|DIR|-]...",
		Long: `Fmt rewrites HCL files in the canonical layout (hclwrite's, as terraform fmt):
indentation, aligned equals signs, spacing. It names each file it changes.

With no FILE it formats the file of -f (./beads.hcl). A DIR stands for the
*.hcl files in it; "-" reads standard input and writes the result to standard
output. Flags take one dash or two: -check is --check.

  -check  change nothing; list the files that are not formatted and exit 1
          if there are any (for CI)
  -diff   print a unified diff of each change`,
		Example: `  beadsctl fmt
  beadsctl fmt -check -diff beads.hcl examples
  cat beads.hcl | beadsctl fmt -`,
		// Flags are parsed in RunE, to take -check and -diff with one dash as
		// terraform fmt does; pflag would read -check as -c -h -e -c -k.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			files, help, err := parseFmtFlags(c, args)
			switch {
			case err != nil:
				return err
			case help:
				return c.Help()
			case len(files) == 0:
				files = []string{g.File()}
			}
			return runFmt(c, g, o, files)
		},
	}
	c.Flags().BoolVar(&o.check, "check", false, "list files that are not formatted and exit 1 if any; change nothing")
	c.Flags().BoolVar(&o.diff, "diff", false, "print a unified diff of the changes")
	return c
}

// parseFmtFlags parses args (flag parsing is off for fmt) after turning the
// one-dash long flags into two-dash ones, and returns the operands.
func parseFmtFlags(c *cobra.Command, args []string) (operands []string, help bool, err error) {
	norm := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			norm = append(norm, args[i:]...)
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && (name == "check" || name == "diff" || name == "help") {
			a = "-" + a
		}
		norm = append(norm, a)
	}
	c.InitDefaultHelpFlag()
	c.InheritedFlags() // merges the persistent flags into c.Flags()
	fs := c.Flags()
	if err := fs.Parse(norm); err != nil {
		return nil, false, fmt.Errorf("%w\nRun 'beadsctl fmt --help' for usage", err)
	}
	help, _ = fs.GetBool("help")
	return fs.Args(), help, nil
}

func runFmt(c *cobra.Command, g *cli.Globals, o *fmtOptions, operands []string) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	var paths []string
	for _, op := range operands {
		if op == "-" {
			paths = append(paths, op)
			continue
		}
		st, err := os.Stat(op)
		if err != nil {
			return fmt.Errorf("fmt: %w", err)
		}
		if !st.IsDir() {
			paths = append(paths, op)
			continue
		}
		found, err := filepath.Glob(filepath.Join(op, "*.hcl"))
		if err != nil {
			return err
		}
		sort.Strings(found)
		paths = append(paths, found...)
	}

	var invalid, unformatted bool
	for _, path := range paths {
		name, src, err := readSource(c, path)
		if err != nil {
			return fmt.Errorf("fmt: %w", err)
		}
		diags := schema.CheckLimits(src, name)
		if !diags.HasErrors() {
			_, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		}
		if diags.HasErrors() {
			files := map[string]*hcl.File{name: {Bytes: src}}
			if err := cli.RenderDiags(stderr, diags, files, g.Color(stderr), false); err != nil {
				return err
			}
			invalid = true
			continue
		}
		out := canonical(src)
		if path == "-" && !o.check {
			if _, err := stdout.Write(out); err != nil {
				return err
			}
		}
		if bytes.Equal(src, out) {
			continue
		}
		unformatted = true
		if path != "-" {
			fmt.Fprintln(stdout, name)
		}
		if o.diff {
			io.WriteString(stdout, unifiedDiff("old/"+filepath.ToSlash(name), "new/"+filepath.ToSlash(name), src, out))
		}
		if o.check || path == "-" {
			continue
		}
		if err := writeKeepingMode(path, out); err != nil {
			return fmt.Errorf("fmt: %w", err)
		}
	}
	switch {
	case invalid:
		return cli.ErrPrinted
	case o.check && unformatted:
		return cli.ExitCode(1)
	}
	return nil
}

func readSource(c *cobra.Command, path string) (name string, src []byte, err error) {
	// One byte more than schema.MaxFileSize is enough to refuse a larger file.
	limit := func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, schema.MaxFileSize+1)) }
	if path == "-" {
		// Read aside, so that Ctrl-C (which only cancels the context: a
		// second one kills) ends a fmt - waiting on a terminal or a pipe
		// that never ends; it waited for the input's end, then exited 0.
		type read struct {
			src []byte
			err error
		}
		done := make(chan read, 1)
		go func() { b, err := limit(c.InOrStdin()); done <- read{b, err} }()
		select {
		case r := <-done:
			return "<stdin>", r.src, r.err
		case <-c.Context().Done():
			return "<stdin>", nil, errors.New("interrupted before the end of the input")
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return path, nil, err
	}
	defer f.Close()
	src, err = limit(f)
	return path, src, err
}

// writeKeepingMode replaces path's content through atomicfile, keeping its
// permissions.
func writeKeepingMode(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, st.Mode().Perm())
}

// unifiedDiff is a unified diff (3 lines of context) from a to b, or "" when
// they are equal. Lines are compared by a longest common subsequence; inputs
// too large for that show as one replaced block.
func unifiedDiff(aName, bName string, a, b []byte) string {
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	const context = 3
	var out strings.Builder
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from context lines before the change to context lines after
		// the last change that is at most 2*context lines further on.
		start := max(i-context, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*context {
				break
			}
		}
		end = min(end+context, len(ops))
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		aStart, bStart := ops[start].a, ops[start].b
		var aN, bN int
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aN), hunkRange(bStart, bN))
		for _, op := range ops[start:end] {
			out.WriteByte(op.kind)
			out.WriteString(op.text)
			if !strings.HasSuffix(op.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// diffOp is one line of an edit script: kind ' ', '-' or '+', and the
// 0-based line numbers in a and b where it stands.
type diffOp struct {
	kind byte
	text string
	a, b int
}

func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s))
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

func diffLines(a, b []string) []diffOp {
	// Common prefix and suffix need no table.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	n, m := len(ma), len(mb)
	if n*m > 4_000_000 {
		for i, l := range ma {
			ops = append(ops, diffOp{'-', l, pre + i, pre})
		}
		for j, l := range mb {
			ops = append(ops, diffOp{'+', l, pre + n, pre + j})
		}
	} else {
		// lcs[i][j] is the LCS length of ma[i:] and mb[j:].
		lcs := make([][]int, n+1)
		for i := range lcs {
			lcs[i] = make([]int, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				ops = append(ops, diffOp{' ', ma[i], pre + i, pre + j})
				i, j = i+1, j+1
			case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
				ops = append(ops, diffOp{'+', mb[j], pre + i, pre + j})
				j++
			default:
				ops = append(ops, diffOp{'-', ma[i], pre + i, pre + j})
				i++
			}
		}
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, diffOp{' ', a[len(a)-suf+k], len(a) - suf + k, len(b) - suf + k})
	}
	return ops
}

// canonical is src formatted as hclwrite does, ending with one newline (as
// gofmt's output does): a file, or fmt -'s output, that stopped mid-line
// would run into whatever is written after it (the next file's diagnostics).
func canonical(src []byte) []byte {
	out := hclwrite.Format(src)
	if len(bytes.TrimSpace(out)) == 0 {
		return out
	}
	return append(bytes.TrimRight(out, "\n"), '\n')
}
