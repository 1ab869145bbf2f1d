package supervisor

// countReason is m with reason counted once more; a copy, never written in
// place: a Status snapshot may share m.
func countReason(m map[string]int, reason string) map[string]int {
	out := make(map[string]int, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[reason]++
	return out
}

// appendBounded appends v to h, keeping the last n entries. It never writes
// into h's array: a Status snapshot may share it.
func appendBounded[T any](h []T, v T, n int) []T {
	if len(h) >= n {
		h = h[len(h)-n+1:]
	}
	out := make([]T, 0, len(h)+1)
	return append(append(out, h...), v)
}
