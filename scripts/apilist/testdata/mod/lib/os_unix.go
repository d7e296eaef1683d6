//go:build unix

package lib

// PlatformFunc exists on every platform.
func PlatformFunc() int { return 1 }
