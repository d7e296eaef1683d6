package transfer

import "fmt"

// Error is a store's one-line message for a failed call. It unwraps to a
// sentinel of package store (if any) and to the cause, which a store
// leaves out for timeouts: net/http's header timeout matches
// context.DeadlineExceeded, which callers take to mean that their own
// deadline expired.
type Error struct {
	Msg      string
	Sentinel error
	Cause    error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel and the cause that are set.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Sentinel, e.Cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Attempts says how many attempts a call took, or "" for one.
func Attempts[T ~int | ~int32](tries T) string {
	if tries > 1 {
		return fmt.Sprintf(" (%d attempts)", tries)
	}
	return ""
}
