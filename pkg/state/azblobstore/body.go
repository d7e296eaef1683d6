package azblobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// newBody is the body of a Get Blob that survives a broken transfer: when
// a read fails with a connection reset, a truncated body or an idle
// timeout, it gets the rest again, from the offset reached, with If-Match
// on the first response's ETag so two versions of the blob are never
// mixed. It fetches the body at most MaxAttempts times in all. (The SDK's
// retry reader counts its retries per Read call, so a body that stalls
// after every few bytes would be fetched without end.)
func (s *azStore) newBody(ctx context.Context, key string, off, n int64, resp blob.DownloadStreamResponse) *transfer.Body {
	want := int64(-1)
	if resp.ContentLength != nil {
		want = *resp.ContentLength
	}
	etag := deref(resp.ETag)
	return transfer.NewBody(ctx, resp.Body, transfer.Resume{
		Loc: s.Location(key), Off: off, N: n, Want: want, Version: string(etag),
		MaxAttempts: s.opts.MaxAttempts,
		Endpoint:    "the Azure Blob endpoint",
		Resumable: func(err error) bool {
			var ne net.Error
			return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
		},
		SayBroken: true,
		// A body read error carries no URL, hence no SAS.
		Describe: func(cause error, got int64) string {
			var ne net.Error
			if errors.As(cause, &ne) && ne.Timeout() {
				return transfer.NoData(s.opts.IdleBodyTimeout, got)
			}
			return ""
		},
		Backoff: func(fetches int, _ error) time.Duration {
			return min(defaultRetryDelay<<(fetches-1), s.opts.MaxBackoff)
		},
		Fetch: func(ctx context.Context, start, n int64, why string) (io.ReadCloser, error) {
			return s.resume(ctx, key, etag, start, n, why)
		},
	})
}

// resume gets n bytes of key from start on (n <= 0: to the end), if its
// ETag is still etag; why says how the last transfer broke.
func (s *azStore) resume(ctx context.Context, key string, etag azcore.ETag, start, n int64, why string) (io.ReadCloser, error) {
	loc := s.Location(key)
	count := int64(blob.CountToEnd)
	if n > 0 {
		count = n
	}
	tctx, tries := withTries(ctx)
	resp, err := s.client.NewBlobClient(s.prefix+key).DownloadStream(tctx, &blob.DownloadStreamOptions{
		Range:            blob.HTTPRange{Offset: start, Count: count},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: resuming after %s: %w", loc, why, s.errs.wrap(ctx, err, tries.Load()))
	}
	// A server that ignores the range would send the blob from its start:
	// check where this body begins before appending it. Azure answers a
	// range from 0 with the whole blob and no Content-Range.
	if cr := deref(resp.ContentRange); start != 0 || cr != "" {
		if err := transfer.CheckResumed(loc, start, cr); err != nil {
			_ = resp.Body.Close()
			return nil, err
		}
	}
	return resp.Body, nil
}
