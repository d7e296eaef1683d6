package transfer

import (
	"fmt"
	"strings"
)

// RangeHeader is the Range header that asks for n bytes from off (n < 0:
// to the end), or "" when the whole object is wanted.
func RangeHeader(off, n int64) string {
	switch {
	case n > 0:
		return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	case off > 0:
		return fmt.Sprintf("bytes=%d-", off)
	}
	return ""
}

// CheckResumed checks that the answer to a request for the rest of loc
// from byte start on begins there: a server that ignores Range sends the
// object from its start, which must not be appended to the bytes already
// read.
func CheckResumed(loc string, start int64, contentRange string) error {
	if !strings.HasPrefix(contentRange, fmt.Sprintf("bytes %d-", start)) {
		return fmt.Errorf("reading %s: resuming at byte %d, the server answered Content-Range %q; cannot resume", loc, start, contentRange)
	}
	return nil
}
