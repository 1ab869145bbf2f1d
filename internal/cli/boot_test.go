package cli

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/beadsctl/beadsctl/internal/boot"
)

// TestBootStatusLooksUpTheUserForAUnitOnly: without a unit, status's boot
// line needs no user name (reading /etc/passwd was a tenth of status); with a
// user unit installed, the linger check is made for the user running it, as
// boot.Detect with StartupOptions makes it.
func TestBootStatusLooksUpTheUserForAUnitOnly(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	st := bootStatus(dir)
	if st.Installed || st.Summary != "off" || st.Hint != "beadsctl startup" || st.User != "" || st.Linger != nil {
		t.Fatalf("no unit: %+v", st)
	}
	u := boot.Paths(dir, detectOptions(boot.Systemd).Defaults())
	if err := os.MkdirAll(filepath.Dir(u.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u.Path, []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	st = bootStatus(dir)
	want := boot.Detect(dir, StartupOptions(""))
	if !st.Installed || st.User != me.Username || st.Linger == nil || st.Summary != want.Summary || st.Hint != want.Hint {
		t.Fatalf("a user unit: %+v; want %+v", st, want)
	}
}
