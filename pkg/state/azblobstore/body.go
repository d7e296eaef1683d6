package azblobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// azBody is the body of a Get Blob that survives a broken transfer: the
// SDK's retry reader fetches the rest from the offset reached, with
// If-Match on the first response's ETag so two versions of the blob are
// never mixed. azBody bounds the fetches, names the blob in its errors and
// refuses a read after Close (the retry reader would fetch again).
type azBody struct {
	ctx  context.Context
	s    *azStore
	key  string
	r    io.ReadCloser
	got  int64 // bytes delivered so far
	want int64 // Content-Length of the first response, -1 unknown

	fails int32 // broken transfers so far
	cause error // why the last one broke
	err   error // sticky: returned by every later Read
}

func newBody(ctx context.Context, s *azStore, key string, resp blob.DownloadStreamResponse) *azBody {
	b := &azBody{ctx: ctx, s: s, key: key, want: -1}
	if resp.ContentLength != nil {
		b.want = *resp.ContentLength
	}
	if s.opts.MaxAttempts < 2 {
		b.r = resp.Body // the retry reader reads fewer than 1 retry as 3
		return b
	}
	b.r = resp.NewRetryReader(ctx, &blob.RetryReaderOptions{
		MaxRetries:        int32(s.opts.MaxAttempts - 1),
		EarlyCloseAsError: true,
		OnFailedRead: func(n int32, err error, _ blob.HTTPRange, _ bool) {
			b.fails, b.cause = n, err
		},
	})
	return b
}

// Read implements io.Reader.
func (b *azBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.got += int64(n)
	if err == nil || err == io.EOF {
		return n, err
	}
	b.err = b.describe(err)
	return n, b.err
}

// describe turns a read error into one line naming the blob.
func (b *azBody) describe(err error) error {
	loc := b.s.Location(b.key)
	if b.ctx.Err() != nil {
		return fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		// A fetch of the rest failed: the blob changed (412), or the
		// service refused or failed.
		return fmt.Errorf("reading %s: resuming after %d bytes: %w", loc, b.got, b.s.errs.wrap(b.ctx, err, 1))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// A fetch of the rest got no answer; its URL may hold a SAS.
		return fmt.Errorf("reading %s: resuming after %d bytes: %w", loc, b.got, b.s.errs.transport(err, 1))
	}
	var what string
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		what = fmt.Sprintf("the server sent no data for %s after %d bytes", b.s.opts.IdleBodyTimeout, b.got)
	case errors.Is(err, io.ErrUnexpectedEOF) && b.want >= 0:
		what = fmt.Sprintf("the body ended after %d of %d bytes", b.got, b.want)
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = fmt.Sprintf("the body ended early, after %d bytes", b.got)
	default:
		what = fmt.Sprintf("the transfer broke after %d bytes: %v", b.got, err)
	}
	if b.fails > 1 {
		what += fmt.Sprintf(" (%d attempts)", b.fails)
	}
	return fmt.Errorf("reading %s: %s; check the network and the Azure Blob endpoint", loc, what)
}

// Close implements io.Closer.
func (b *azBody) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.s.Location(b.key))
	}
	return b.r.Close()
}
