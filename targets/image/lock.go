package image

import "github.com/faultline/faultline/internal/filelock"

// lock serialises builds across processes (internal/filelock).
func lock(path string) (func(), error) { return filelock.Lock(path) }
