package targets

// ClockHooked is a Target whose programs read the time through Faultline's
// clock hook (targets/gobuild: time.Now patched by a build overlay), so that
// clock faults can shift a node's clock while it runs. A target without
// it gets no clock fault: containers and processes share the host's kernel
// clock.
type ClockHooked interface {
	Target
	// ClockHook says which mechanism shifts its clock, for the fault's
	// detail.
	ClockHook() string
}
