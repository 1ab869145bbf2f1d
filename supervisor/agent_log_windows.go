package supervisor

import "os"

// redirectStderr does nothing on Windows: the runtime's stderr stays where
// the agent was started with it.
func redirectStderr(*os.File) {}
