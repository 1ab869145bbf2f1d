package supervisor

// agCheckOwned is a no-op on Windows, where the folder ACLs protect the socket.
func agCheckOwned(string) error { return nil }
