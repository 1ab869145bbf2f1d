package atomicfile

// NoFollow is 0 on Windows, which has no O_NOFOLLOW; creating a symlink there needs a privilege that an
// attacker planting one would already have to hold.
const NoFollow = 0

// nonBlock is 0: Windows has no FIFOs in the file system.
const nonBlock = 0

// syncDir is a no-op on Windows, where a folder cannot be opened for fsync; its rename is durable
// when the MoveFileEx call returns.
func syncDir(string) error { return nil }
