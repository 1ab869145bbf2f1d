package schema

import (
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Metrics is the opt-in metrics listener (a top-level `metrics` block): the
// agent serves its metrics there in the Prometheus text format.
type Metrics struct {
	// Listen is host:port. It must be a loopback address unless AllowRemote.
	Listen      string `json:"listen"`
	AllowRemote bool   `json:"allow_remote,omitempty"`
}

var metricsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "listen", Required: true},
	{Name: "allow_remote"},
}}

// decodeMetrics reads the metrics blocks (at most one).
func decodeMetrics(blocks []*hcl.Block, ctx *hcl.EvalContext) (*Metrics, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var out *Metrics
	for i, blk := range blocks {
		if i > 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate metrics block",
				Detail: fmt.Sprintf("A metrics block is already declared at %s; there is one listener.", pos(blocks[0].DefRange)), Subject: blk.DefRange.Ptr()})
			continue
		}
		content, more := blk.Body.Content(metricsSchema)
		diags = append(diags, more...)
		m := &Metrics{}
		var listenRange hcl.Range
		if a, ok := content.Attributes["listen"]; ok {
			listenRange = a.Expr.Range()
			v, more := a.Expr.Value(ctx)
			diags = append(diags, more...)
			if !more.HasErrors() {
				if v.Type() != cty.String || v.IsNull() {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid metrics.listen",
						Detail: "listen is a host:port string, such as \"127.0.0.1:9464\".", Subject: listenRange.Ptr()})
				} else if m.Listen = v.AsString(); m.Listen == "" {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid metrics.listen",
						Detail:  "listen is empty: write host:port, such as \"127.0.0.1:9464\", or remove the metrics block to serve no metrics.",
						Subject: listenRange.Ptr()})
				}
			}
		}
		if a, ok := content.Attributes["allow_remote"]; ok {
			v, more := a.Expr.Value(ctx)
			diags = append(diags, more...)
			if !more.HasErrors() {
				if v.Type() != cty.Bool || v.IsNull() {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid metrics.allow_remote",
						Detail: "allow_remote is true or false.", Subject: a.Expr.Range().Ptr()})
				} else {
					m.AllowRemote = v.True()
				}
			}
		}
		if m.Listen != "" {
			if d := checkListen(m.Listen, m.AllowRemote, listenRange); d != nil {
				diags = append(diags, d)
			}
		}
		out = m
	}
	return out, diags
}

// checkListen refuses a listen address that is not host:port, and one that
// is reachable from other machines unless allowRemote says so.
func checkListen(addr string, allowRemote bool, rng hcl.Range) *hcl.Diagnostic {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid metrics.listen",
			Detail: fmt.Sprintf("%q is not host:port (%v); for example \"127.0.0.1:9464\".", addr, err), Subject: rng.Ptr()}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid metrics.listen",
			Detail: fmt.Sprintf("%q: the port must be a number from 0 to 65535.", addr), Subject: rng.Ptr()}
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	what := fmt.Sprintf("%q is not a loopback address", host)
	if host == "" {
		what = "no host means every interface"
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Metrics listener reachable from other machines",
		Detail:  fmt.Sprintf("%s: the metrics would be served to the network (they name every daemon and its state). Listen on 127.0.0.1 or [::1], or set allow_remote = true to serve them there on purpose.", what),
		Subject: rng.Ptr()}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
