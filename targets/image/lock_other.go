//go:build !unix

package image

// lock is a no-op where flock is missing; the engine still keeps one image per
// tag, at the price of duplicate work.
func lock(string) (func(), error) { return func() {}, nil }
