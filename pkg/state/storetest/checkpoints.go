package storetest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Checkpoint text for tests, shaped like what pulumi v3.274.1 writes:
// compact JSON, fields in the order of pulumi's Go structs.

// Manifest is the manifest of the deployments Checkpoint builds.
const Manifest = `{"time":"2026-03-20T10:11:12.123456789Z","magic":"5a2b0c6e1e1c8bd4f1b3b9b2a7e7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9","version":"v3.274.1"}`

// Passphrase returns the secrets_providers value of a passphrase provider
// with salt.
func Passphrase(salt string) string {
	return fmt.Sprintf(`{"type":"passphrase","state":{"salt":%q}}`, salt)
}

// Cloud returns the secrets_providers value of a cloud provider with the
// keeper URL url and the encrypted data key key.
func Cloud(url, key string) string {
	return fmt.Sprintf(`{"type":"cloud","state":{"url":%q,"encryptedkey":%q}}`, url, key)
}

// Service is the secrets_providers value of a Pulumi Cloud stack.
const Service = `{"type":"service","state":{"url":"https://api.pulumi.com","owner":"acme","project":"demo","stack":"dev"}}`

// Resource returns the JSON of the i-th of a row of realistic resource
// states.
func Resource(i int) string {
	return fmt.Sprintf(`{"urn":"urn:pulumi:dev::demo::aws:s3/bucketV2:BucketV2::bucket-%06d","custom":true,"id":"bucket-%06d-5f3c1a2","type":"aws:s3/bucketV2:BucketV2","inputs":{"bucket":"bucket-%06d","forceDestroy":false,"tags":{"env":"dev","team":"platform"}},"outputs":{"arn":"arn:aws:s3:::bucket-%06d","bucket":"bucket-%06d","bucketDomainName":"bucket-%06d.s3.amazonaws.com","hostedZoneId":"Z1BKCTXD74EZPE","region":"eu-west-1","tags":{"env":"dev","team":"platform"},"token":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:kQ2b2GJg6xgW0sD8:o7k4Vn5G1N0C6pG8mW4WQ2h7aBSJfXc="}},"parent":"urn:pulumi:dev::demo::pulumi:pulumi:Stack::demo-dev","provider":"urn:pulumi:dev::demo::pulumi:providers:aws::default_6_70_0::04da6b54-80e4-46f7-96ec-b56ff0331ba9","propertyDependencies":{"bucket":[],"tags":[]},"created":"2026-03-20T10:11:12.123456789Z","modified":"2026-03-20T10:11:12.123456789Z"}`,
		i, i, i, i, i, i)
}

// Checkpoint describes a checkpoint file for Build to write.
type Checkpoint struct {
	// Version is the top-level version.
	Version int
	// Features is the top-level features list, left out when empty.
	Features []string
	// Stack is the checkpoint's stack field; "organization/demo/dev" when
	// empty.
	Stack string
	// Provider is the JSON of the latest deployment's secrets_providers
	// (see Passphrase, Cloud and Service); none when empty.
	Provider string
	// Resources is the number of resources; ResourceBytes, when set, adds
	// resources until the resources array is at least that long.
	Resources     int
	ResourceBytes int
	// ProviderLast puts secrets_providers after the resources instead of
	// before them.
	ProviderLast bool
	// NoLatest leaves out the latest deployment.
	NoLatest bool
}

// Build returns the checkpoint as compact JSON.
func (c Checkpoint) Build() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":%d,`, c.Version)
	if len(c.Features) > 0 {
		f, _ := json.Marshal(c.Features)
		fmt.Fprintf(&b, `"features":%s,`, f)
	}
	stack := c.Stack
	if stack == "" {
		stack = "organization/demo/dev"
	}
	fmt.Fprintf(&b, `"checkpoint":{"stack":%q`, stack)
	if !c.NoLatest {
		b.WriteString(`,"latest":{"manifest":` + Manifest)
		if c.Provider != "" && !c.ProviderLast {
			b.WriteString(`,"secrets_providers":` + c.Provider)
		}
		if c.Resources > 0 || c.ResourceBytes > 0 {
			b.WriteString(`,"resources":[`)
			start := b.Len()
			for i := 0; i < c.Resources || b.Len()-start < c.ResourceBytes; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(Resource(i))
			}
			b.WriteByte(']')
		}
		if c.Provider != "" && c.ProviderLast {
			b.WriteString(`,"secrets_providers":` + c.Provider)
		}
		b.WriteString(`,"metadata":{}}`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// Gzip returns data gzip-compressed, as pulumi writes a .json.gz
// checkpoint.
func Gzip(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zstdEncoder is one encoder for every test: EncodeAll is safe for
// concurrent use.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
})

// Zstd returns data zstd-compressed with the default encoder, as pulumi
// writes a .json.zst checkpoint.
func Zstd(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstdEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(data, nil)
}
