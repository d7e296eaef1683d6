package hidden

// Helper is exported within the module.
func Helper() {}
