package schema

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/internal/alerton"
)

// Alert is one `alert "NAME"` block: a command run with the event as JSON on
// its standard input when one of On happens to a daemon (of Daemons, or any).
type Alert struct {
	Name    string   `json:"name"`
	On      []string `json:"on"`
	Command []string `json:"command"`
	// Timeout: the command's process group is killed after it.
	Timeout time.Duration `json:"timeout"`
	// Daemons limits the alert to these daemons (nil: every daemon).
	Daemons []string `json:"daemons,omitempty"`
	// UnhealthyFor: "unhealthy" fires once a daemon stayed unhealthy that long.
	UnhealthyFor time.Duration `json:"unhealthy_for"`
	// Window: per daemon, the first alert is sent at once, the ones that
	// follow within Window are counted and sent as one summary at its end.
	Window time.Duration `json:"window"`
}

var alertSpec = &blockSpec{attrs: map[string]kind{
	"on": kStrings, "command": kStrings, "timeout": kString, "daemons": kStrings,
	"unhealthy_for": kString, "window": kString,
}}

// decodeAlerts reads the alert blocks; names must be distinct and the
// daemons named must be declared.
func decodeAlerts(blocks []*hcl.Block, ctx *hcl.EvalContext, daemons []string) ([]Alert, map[string][]hcl.Range, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var out []Alert
	seen := map[string]hcl.Range{}
	onAt := map[string][]hcl.Range{}
	for _, blk := range blocks {
		name := blk.Labels[0]
		if !validName(name) {
			diags = append(diags, badName("alert", name, blk.LabelRanges[0]))
			continue
		}
		if prev, dup := seen[name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate alert block",
				Detail: fmt.Sprintf("An alert %q is already declared at %s.", name, pos(prev)), Subject: blk.LabelRanges[0].Ptr()})
			continue
		}
		seen[name] = blk.DefRange
		l := newLayer()
		more := decodeBody(blk.Body, alertSpec, "", ctx, l)
		diags = append(diags, more...) // the rest is checked too; a field that failed is not missing
		a := Alert{Name: name, Timeout: alerton.DefaultTimeout, UnhealthyFor: alerton.DefaultUnhealthyFor, Window: alerton.DefaultWindow}
		list := func(key string) ([]string, *field) {
			f := l.fields[key]
			if f == nil {
				return nil, nil
			}
			var s []string
			for _, v := range f.val.AsValueSlice() {
				s = append(s, v.AsString())
			}
			return s, f
		}
		at := func(f *field, i int) *hcl.Range {
			if i < len(f.elem) {
				return f.elem[i].Ptr()
			}
			return f.rng.Ptr()
		}
		on, f := list("on")
		if (f == nil && !l.failed["on"]) || (f != nil && len(on) == 0) {
			subj := blk.DefRange.Ptr()
			if f != nil {
				subj = f.rng.Ptr()
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Alert without events",
				Detail: fmt.Sprintf("alert %q needs on = [...], one or more of %s.", name, quoteList(alerton.All)), Subject: subj})
		}
		for i, t := range on {
			if !alerton.Known(t) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown alert event",
					Detail: fmt.Sprintf("%q is not an event an alert is fired on; use %s.%s", t, quoteList(alerton.All), didYouMean(t, alerton.All)), Subject: at(f, i)})
			}
		}
		a.On = on
		if f != nil {
			onAt[name] = f.elem
		}
		cmd, f := list("command")
		if (f == nil && !l.failed["command"]) || (f != nil && (len(cmd) == 0 || cmd[0] == "")) {
			subj := blk.DefRange.Ptr()
			if f != nil {
				subj = f.rng.Ptr()
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Alert without a command",
				Detail: fmt.Sprintf("alert %q needs command = [\"program\", \"arg\", ...]; it gets the event as JSON on its standard input.", name), Subject: subj})
		}
		a.Command = cmd
		ds, f := list("daemons")
		for i, d := range ds {
			if !contains(daemons, d) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown daemon",
					Detail: fmt.Sprintf("alert %q names daemon %q, which beads.hcl does not declare.%s", name, d, didYouMean(d, daemons)), Subject: at(f, i)})
			}
		}
		a.Daemons = ds
		for key, dst := range map[string]*time.Duration{"timeout": &a.Timeout, "unhealthy_for": &a.UnhealthyFor, "window": &a.Window} {
			f := l.fields[key]
			if f == nil {
				continue
			}
			d, err := ParseDuration(f.val.AsString())
			switch {
			case err != nil:
			case d <= 0:
				err = fmt.Errorf("it must be longer than 0")
			case key == "window" && d < alerton.MinWindow:
				// Shorter, the rate limit limits nothing: a crash loop would
				// run the command at every crash.
				err = fmt.Errorf("it must be %s or longer, or a crash loop would send an alert a crash (%s is the default)", alerton.MinWindow, alerton.DefaultWindow)
			}
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid alert." + key,
					Detail: fmt.Sprintf("%s must be a duration such as \"10s\": %v.", key, err), Subject: f.rng.Ptr()})
				continue
			}
			*dst = d
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, onAt, diags
}

// checkAlertTriggers warns of an alert fired on what none of its daemons can
// do: "unhealthy" (or "recovered" alone) without a health check, "memory"
// without limits.memory. onAt are the ranges of each alert's `on` elements.
func checkAlertTriggers(alerts []Alert, daemons []Daemon, onAt map[string][]hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, a := range alerts {
		var health, memory bool
		for _, d := range daemons {
			if len(a.Daemons) > 0 && !contains(a.Daemons, d.Name) {
				continue
			}
			health = health || (d.Health.Check != "" && d.Health.Check != "none")
			memory = memory || d.Limits.Memory > 0
		}
		whose := "no daemon has"
		if len(a.Daemons) > 0 {
			whose = "none of its daemons (" + strings.Join(a.Daemons, ", ") + ") has"
		}
		for i, t := range a.On {
			var why string
			switch {
			case t == alerton.Unhealthy && !health:
				why = fmt.Sprintf("alert %q fires on unhealthy, but %s a health check (a health block): it never will.", a.Name, whose)
			case t == alerton.Memory && !memory:
				why = fmt.Sprintf("alert %q fires on memory, but %s limits.memory: it never will.", a.Name, whose)
			default:
				continue
			}
			var subj *hcl.Range
			if r := onAt[a.Name]; i < len(r) {
				subj = r[i].Ptr()
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Alert that cannot fire", Detail: why, Subject: subj})
		}
	}
	return diags
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
