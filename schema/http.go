package schema

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// httpBodyMax is how much of an answer's body an http check reads and
// matches (the supervisor's bound, stated here for the diagnostics).
const httpBodyMax = "64 KiB"

// httpHealth fills the HTTP check from the health block (check = "http"):
// url (required, http or https with a host), status (codes from 100 to 599),
// body (an RE2 regular expression) and tls_skip_verify. Its attributes on
// another check are warnings, as address is.
func (r *resolver) httpHealth(d *Daemon, blame hcl.Range) {
	h := &d.Health
	attrs := []string{"health.url", "health.status", "health.body", "health.tls_skip_verify"}
	if h.Check != "http" {
		r.noEffect(attrs, "http", h.Check)
		h.HTTP = nil
		return
	}
	c := &HTTPCheck{}
	h.HTTP = c
	if f := r.str("health.url", &c.URL); f == nil {
		r.add(hcl.DiagError, blame, "Missing health url",
			`check = "http" sends GET to a URL: set url = "http://127.0.0.1:3000/" in the health block.`)
	} else if err := checkURL(c.URL); err != nil {
		r.add(hcl.DiagError, f.rng, "Invalid health url", fmt.Sprintf("health.url: %s.", err))
	}
	if f := r.l.fields["health.status"]; f != nil {
		for i, v := range f.val.AsValueSlice() {
			n, _ := v.AsBigFloat().Int64()
			if n < 100 || n > 599 {
				rng := f.rng
				if len(f.elem) == f.val.LengthInt() {
					rng = f.elem[i]
				}
				r.add(hcl.DiagError, rng, "Invalid health status", fmt.Sprintf("health.status: %d is not an HTTP status code (100 to 599).", n))
				continue
			}
			c.Status = append(c.Status, int(n))
		}
	}
	if f := r.str("health.body", &c.Body); f != nil {
		if _, err := regexp.Compile(c.Body); err != nil {
			r.add(hcl.DiagError, f.rng, "Invalid health body pattern",
				fmt.Sprintf("health.body is a regular expression (RE2) matched against the first %s of the answer: %s.", httpBodyMax, err))
		}
	}
	r.boolean("health.tls_skip_verify", &c.TLSSkipVerify)
	if f := r.l.fields["health.tls_skip_verify"]; f != nil && c.TLSSkipVerify {
		if u, err := url.Parse(c.URL); err == nil && u.Scheme == "http" {
			r.add(hcl.DiagWarning, f.name, "tls_skip_verify has no effect",
				"health.tls_skip_verify only matters for an https:// url; this one is http://.")
		}
	}
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("%q does not parse: %v", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: the scheme must be http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host: write \"http://127.0.0.1:PORT/\" for this machine", s)
	case u.Port() != "":
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has no port number from 1 to 65535", s)
		}
	}
	return nil
}
