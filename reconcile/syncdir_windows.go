package reconcile

// syncDir is a no-op on Windows, where directories cannot be opened for fsync.
func syncDir(string) error { return nil }
