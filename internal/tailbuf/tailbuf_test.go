package tailbuf

import "testing"

func TestBufferKeepsTheTail(t *testing.T) {
	b := New(8)
	for _, w := range []string{"abc", "defgh", "ij", "0123456789xyz", "k"} {
		if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	if got := string(b.Bytes()); got != "6789xyzk" {
		t.Errorf("tail = %q, want %q", got, "6789xyzk")
	}
}

func TestStringDropsACutRune(t *testing.T) {
	b := New(4)
	b.Write([]byte("aé€")) // é is 2 bytes, € 3: the tail starts inside é
	if got := b.String(); got != "€" {
		t.Errorf("String() = %q, want %q", got, "€")
	}
}
