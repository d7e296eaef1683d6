package harness

import (
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// The faults of a server that breaks the protocol rather than the
// connection: listings that never end or end early, bodies that trickle,
// a resume answered with another version of the object.

// listingsOnly reports whether f applies to listings only, so that a rule
// with it passes every other request through.
func (f Fault) listingsOnly() bool { return f == FaultRepeatToken || f == FaultNoToken }

// isListing reports whether r is a ListObjectsV2 request.
func isListing(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2"
}

// repeatedToken is the continuation token FaultRepeatToken hands out.
const repeatedToken = "faultproxy-repeated-token"

var (
	truncatedRE = regexp.MustCompile(`<IsTruncated>[a-z]*</IsTruncated>`)
	nextTokenRE = regexp.MustCompile(`<NextContinuationToken>[^<]*</NextContinuationToken>`)
	endRE       = regexp.MustCompile(`</ListBucketResult>\s*$`)
)

// rewriteListing forwards a listing and answers it as truncated: with the
// repeated token (FaultRepeatToken) or with none (FaultNoToken). A request
// for the page after the repeated token gets the same page again, since
// the gateway knows no such token.
func (p *FaultProxy) rewriteListing(w http.ResponseWriter, r *http.Request, f Fault) {
	p.mu.Lock()
	page := p.page
	p.mu.Unlock()
	if f == FaultRepeatToken && r.URL.Query().Get("continuation-token") != "" && page != nil {
		writeListing(w, page)
		return
	}
	resp, body, ok := p.forward(w, r)
	if !ok {
		return
	}
	if resp.StatusCode != http.StatusOK {
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	}
	body = nextTokenRE.ReplaceAll(body, nil)
	body = truncatedRE.ReplaceAll(body, []byte("<IsTruncated>true</IsTruncated>"))
	if f == FaultRepeatToken {
		body = endRE.ReplaceAll(body,
			[]byte("<NextContinuationToken>"+repeatedToken+"</NextContinuationToken></ListBucketResult>"))
		p.mu.Lock()
		p.page = body
		p.mu.Unlock()
	}
	writeListing(w, body)
}

// writeListing answers 200 with a listing document.
func writeListing(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// trickle forwards r, then sends the answer's headers at once and its
// body a byte a second, until the client goes or the proxy shuts down.
func (p *FaultProxy) trickle(w http.ResponseWriter, r *http.Request) {
	resp, body, ok := p.forward(w, r)
	if !ok {
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	resp.Header.Del("Transfer-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Connection", "close")
	writeHead(rw, resp)
	if rw.Flush() != nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for _, b := range body {
		select {
		case <-p.done:
			return
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if rw.WriteByte(b) != nil || rw.Flush() != nil {
			return
		}
	}
}

// changeETag forwards r and answers with the gateway's answer under
// another ETag.
func (p *FaultProxy) changeETag(w http.ResponseWriter, r *http.Request) {
	resp, body, ok := p.forward(w, r)
	if !ok {
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("ETag", `"faultproxy-another-version"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}
