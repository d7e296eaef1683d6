package azblobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// azBody is the body of a Get Blob that survives a broken transfer: when a
// read fails with a connection reset, a truncated body or an idle timeout,
// it gets the rest again, from the offset reached, with If-Match on the
// first response's ETag so two versions of the blob are never mixed. It
// fetches the body at most MaxAttempts times in all. (The SDK's retry
// reader counts its retries per Read call, so a body that stalls after
// every few bytes would be fetched without end.)
type azBody struct {
	ctx context.Context
	s   *azStore
	key string
	off int64 // first byte asked for
	n   int64 // bytes asked for; < 0: to the end

	body    io.ReadCloser // nil after a break, until reopened
	etag    *azcore.ETag
	want    int64 // Content-Length of the first response, -1 unknown
	got     int64 // bytes delivered so far
	fetches int   // Get Blob requests made, the first included
	cause   error // why the last transfer broke
	err     error // sticky: returned by every later Read
}

func newBody(ctx context.Context, s *azStore, key string, off, n int64, resp blob.DownloadStreamResponse) *azBody {
	b := &azBody{ctx: ctx, s: s, key: key, off: off, n: n, body: resp.Body, etag: resp.ETag, want: -1, fetches: 1}
	if resp.ContentLength != nil {
		b.want = *resp.ContentLength
	}
	return b
}

// Read implements io.Reader.
func (b *azBody) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			return 0, b.err
		}
		if b.body == nil {
			if err := b.resume(); err != nil {
				b.err = err
				return 0, err
			}
		}
		n, err := b.body.Read(p)
		b.got += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		b.broken(err)
		if n > 0 {
			return n, nil // the bytes are good; the next Read resumes
		}
	}
}

// Close implements io.Closer.
func (b *azBody) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.s.Location(b.key))
	}
	if b.body == nil {
		return nil
	}
	err := b.body.Close()
	b.body = nil
	return err
}

// broken closes the failed body and decides whether to resume.
func (b *azBody) broken(err error) {
	_ = b.body.Close()
	b.body = nil
	b.cause = err
	loc := b.s.Location(b.key)
	var ne net.Error
	switch {
	case b.ctx.Err() != nil:
		b.err = fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne):
		b.err = fmt.Errorf("reading %s: %s", loc, b.describe())
	case b.etag == nil || *b.etag == "":
		b.err = fmt.Errorf("reading %s: %s; the server sent no ETag, so the read cannot be resumed safely", loc, b.describe())
	case b.fetches >= b.s.opts.MaxAttempts:
		b.err = fmt.Errorf("reading %s: %s (%d attempts); check the network and the Azure Blob endpoint", loc, b.describe(), b.fetches)
	}
}

// describe says in a few words how the last transfer broke. A body read
// error carries no URL, hence no SAS.
func (b *azBody) describe() string {
	var ne net.Error
	switch {
	case errors.As(b.cause, &ne) && ne.Timeout():
		return fmt.Sprintf("the server sent no data for %s after %d bytes", b.s.opts.IdleBodyTimeout, b.got)
	case errors.Is(b.cause, io.ErrUnexpectedEOF) && b.want >= 0:
		return fmt.Sprintf("the body ended after %d of %d bytes", b.got, b.want)
	case errors.Is(b.cause, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the body ended early, after %d bytes", b.got)
	}
	return fmt.Sprintf("the transfer broke after %d bytes: %v", b.got, b.cause)
}

// resume waits a backoff, then gets the rest of the range.
func (b *azBody) resume() error {
	loc := b.s.Location(b.key)
	delay := min(defaultRetryDelay<<(b.fetches-1), b.s.opts.MaxBackoff)
	t := time.NewTimer(delay)
	select {
	case <-b.ctx.Done():
		t.Stop()
		return fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	case <-t.C:
	}
	start := b.off + b.got
	count := int64(blob.CountToEnd)
	if b.n > 0 {
		count = b.n - b.got
	}
	b.fetches++
	tctx, tries := withTries(b.ctx)
	resp, err := b.s.client.NewBlobClient(b.s.prefix+b.key).DownloadStream(tctx, &blob.DownloadStreamOptions{
		Range:            blob.HTTPRange{Offset: start, Count: count},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: b.etag}},
	})
	if err != nil {
		return fmt.Errorf("reading %s: resuming after %s: %w", loc, b.describe(), b.s.errs.wrap(b.ctx, err, tries.Load()))
	}
	// A server that ignores the range would send the blob from its start:
	// check where this body begins before appending it. Azure answers a
	// range from 0 with the whole blob and no Content-Range.
	if cr := deref(resp.ContentRange); !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", start)) && (start != 0 || cr != "") {
		_ = resp.Body.Close()
		return fmt.Errorf("reading %s: resuming at byte %d, the server answered Content-Range %q; cannot resume", loc, start, cr)
	}
	b.body = resp.Body
	return nil
}
