// Package azblobstore is the store.Store of an azblob:// backend: an Azure
// Blob Storage container, opened as pulumi opens it (gocloud's azureblob
// driver) and read with Get Blob, Get Blob Properties and List Blobs
// requests only, under deadlines and bounded retries, with errors that say
// what to fix and never print a credential.
package azblobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// azStore is a store.Store over an Azure Blob container.
type azStore struct {
	client    *container.Client
	container string
	prefix    string
	opts      Options
	errs      azErrors
	// pageSize is the MaxResults of a listing; 0 is the service's 5,000.
	pageSize int32
}

// New opens the container o names, with the credential the environment
// gives as Options describes. It makes no request: a refused credential or
// a missing container is an error of the first call, wrapping
// store.ErrAccessDenied or store.ErrNotFound. No error names a secret.
func New(ctx context.Context, o Options) (store.Store, error) {
	_ = ctx // nothing to do before the first request
	return open(o, os.Getenv)
}

// open is New with the environment read by getenv.
func open(o Options, getenv func(string) string) (*azStore, error) {
	o = o.withDefaults()
	set, err := o.resolve(getenv)
	if err != nil {
		return nil, err
	}
	client, err := newClient(o, set)
	if err != nil {
		return nil, err
	}
	endpoint := set.serviceURL
	if u, err := url.Parse(client.URL()); err == nil {
		endpoint = u.Scheme + "://" + u.Host
	}
	return &azStore{
		client:    client,
		container: o.Container,
		prefix:    o.Prefix,
		opts:      o,
		errs:      azErrors{container: "azblob://" + o.Container, endpoint: endpoint, set: set, opts: o},
	}, nil
}

// newClient makes the container client for the resolved credential.
func newClient(o Options, set settings) (*container.Client, error) {
	copts := o.clientOptions()
	containerURL, err := url.JoinPath(set.serviceURL, o.Container)
	if err != nil {
		return nil, fmt.Errorf("the endpoint of %s is not a URL: check the domain and the account name", o.name())
	}
	switch set.cred {
	case credSharedKey:
		cred, err := azblob.NewSharedKeyCredential(set.keyAccount, set.key)
		if err != nil {
			return nil, fmt.Errorf("%w: AZURE_STORAGE_KEY is not a base64 account key for %s", store.ErrAccessDenied, o.name())
		}
		return container.NewClientWithSharedKeyCredential(containerURL, cred, copts)
	case credSAS:
		return container.NewClientWithNoCredential(containerURL+"?"+set.sas, copts)
	case credConnectionString:
		c, err := container.NewClientFromConnectionString(set.connString, o.Container, copts)
		if err != nil {
			// The SDK's messages name no part of the string; still, say
			// only which keys it needs.
			return nil, fmt.Errorf("%w: %s is not a usable connection string for %s: it needs AccountName and AccountKey, or SharedAccessSignature, and BlobEndpoint or AccountName", store.ErrAccessDenied, set.connVar, o.name())
		}
		return c, nil
	}
	// The token requests run under the same deadlines and retries.
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: copts.ClientOptions})
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("%w: no Azure credential for %s (%s): set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING", store.ErrAccessDenied, o.name(), first)
	}
	return container.NewClient(containerURL, cred, copts)
}

// Location implements store.Store.
func (s *azStore) Location(key string) string {
	return "azblob://" + s.container + "/" + s.prefix + key
}

// List implements store.Store, one List Blobs request per page of up to
// 5,000 blobs: flat when recursive, else with the "/" delimiter. A marker
// the service repeats, or a page that does not follow the last, is an
// error, not a loop.
func (s *azStore) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	loc := s.Location(prefix)
	full := s.prefix + prefix
	seen := map[string]bool{}
	marker, last := "", ""
	for {
		items, next, err := s.page(ctx, full, marker, recursive)
		if err != nil {
			return fmt.Errorf("listing %s: %w", loc, err)
		}
		for _, it := range items {
			name := deref(it.Name)
			if last != "" && name <= last {
				return fmt.Errorf("listing %s: the service listed %q after %q: it ignored the continuation marker", loc, name, last)
			}
			last = name
			obj := store.Object{Key: strings.TrimPrefix(name, s.prefix)}
			if p := it.Properties; p != nil {
				obj.Size = deref(p.ContentLength)
				obj.ModTime = deref(p.LastModified)
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		if seen[next] {
			return fmt.Errorf("listing %s: the service repeated the continuation marker %q", loc, next)
		}
		seen[next] = true
		marker = next
	}
}

// page lists one page of blobs under full from marker.
func (s *azStore) page(ctx context.Context, full, marker string, recursive bool) ([]*container.BlobItem, string, error) {
	tctx, tries := withTries(ctx)
	var mk, pfx *string
	if marker != "" {
		mk = &marker
	}
	if full != "" {
		pfx = &full
	}
	var size *int32
	if s.pageSize > 0 {
		size = &s.pageSize
	}
	if recursive {
		p := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: pfx, Marker: mk, MaxResults: size})
		resp, err := p.NextPage(tctx)
		if err != nil {
			return nil, "", s.errs.wrap(ctx, err, tries.Load())
		}
		if resp.Segment == nil {
			return nil, deref(resp.NextMarker), nil
		}
		return resp.Segment.BlobItems, deref(resp.NextMarker), nil
	}
	p := s.client.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: pfx, Marker: mk, MaxResults: size})
	resp, err := p.NextPage(tctx)
	if err != nil {
		return nil, "", s.errs.wrap(ctx, err, tries.Load())
	}
	if resp.Segment == nil {
		return nil, deref(resp.NextMarker), nil
	}
	return resp.Segment.BlobItems, deref(resp.NextMarker), nil
}

// Stat implements store.Store with one Get Blob Properties request. Its
// answer's x-ms-error-code tells a missing blob from a missing container.
func (s *azStore) Stat(ctx context.Context, key string) (store.Object, error) {
	tctx, tries := withTries(ctx)
	resp, err := s.client.NewBlobClient(s.prefix+key).GetProperties(tctx, nil)
	if err != nil {
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), s.errs.wrap(ctx, err, tries.Load()))
	}
	return store.Object{Key: key, Size: deref(resp.ContentLength), ModTime: deref(resp.LastModified)}, nil
}

// ReadRange implements store.Store with one Get Blob request: with no range
// for the whole blob, else x-ms-range. The reader it returns resumes a
// transfer that breaks (connection reset, truncated body, no data for
// IdleBodyTimeout) from the offset reached, conditional on the first
// response's ETag, fetching the body at most MaxAttempts times.
func (s *azStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	count := int64(blob.CountToEnd)
	if n > 0 {
		count = n
	}
	tctx, tries := withTries(ctx)
	bc := s.client.NewBlobClient(s.prefix + key)
	resp, err := bc.DownloadStream(tctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: count}})
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return io.NopCloser(strings.NewReader("")), nil // empty blob, or off at its end
		}
		return nil, fmt.Errorf("reading %s: %w", s.Location(key), s.errs.wrap(ctx, err, tries.Load()))
	}
	return s.newBody(ctx, key, off, n, resp), nil
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
