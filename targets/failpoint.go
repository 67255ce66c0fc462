package targets

// Failpointed is a Target that can be built with failpoints (etcd's
// gofail), served over HTTP on each node at the port FailpointPort names.
type Failpointed interface {
	Target
	// FailpointPort is the port of the failpoints' HTTP endpoint; "" when
	// the target's options did not ask for failpoints.
	FailpointPort() string
	// KnownFailpoints names the failpoints the target's sources have, for
	// the catalogue and to refuse a misspelt name before launch.
	KnownFailpoints() []string
}
