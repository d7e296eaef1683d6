package state

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// Checkpoint text for tests, shaped like what pulumi v3.274.1 writes (spec
// §2.4, §2.5, §9): compact JSON, fields in Go struct order.

const (
	testManifest = `{"time":"2026-03-20T10:11:12.123456789Z","magic":"5a2b0c6e1e1c8bd4f1b3b9b2a7e7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9","version":"v3.274.1"}`

	testSalt   = "v1:Nb3UqPj4BZc=:v1:k6hOsDcaUKE8ANmp:pc+0vMnFeWvXtx6ZiWnNYDCF2dGSnA=="
	testKMSURL = "awskms://alias/pulumi-state?region=eu-west-1"
	testKMSKey = "AQICAHhB8r8M3bwXkDHq8mRZq0xW9CkO2Ry1b9YU7Oqk3S3+1wHk4YdZ4pD9n0mEw2Fq4m5LAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMr3Bz2Y8l6Wq1O6jEAgEQgDvN5q3n8w=="
)

// spPassphrase, spCloud and spService are secrets_providers values.
func spPassphrase(salt string) string {
	return fmt.Sprintf(`{"type":"passphrase","state":{"salt":%q}}`, salt)
}

func spCloud(url, key string) string {
	return fmt.Sprintf(`{"type":"cloud","state":{"url":%q,"encryptedkey":%q}}`, url, key)
}

const spService = `{"type":"service","state":{"url":"https://api.pulumi.com","owner":"acme","project":"demo","stack":"dev"}}`

// testResource returns the JSON of one realistic resource state.
func testResource(i int) string {
	return fmt.Sprintf(`{"urn":"urn:pulumi:dev::demo::aws:s3/bucketV2:BucketV2::bucket-%06d","custom":true,"id":"bucket-%06d-5f3c1a2","type":"aws:s3/bucketV2:BucketV2","inputs":{"bucket":"bucket-%06d","forceDestroy":false,"tags":{"env":"dev","team":"platform"}},"outputs":{"arn":"arn:aws:s3:::bucket-%06d","bucket":"bucket-%06d","bucketDomainName":"bucket-%06d.s3.amazonaws.com","hostedZoneId":"Z1BKCTXD74EZPE","region":"eu-west-1","tags":{"env":"dev","team":"platform"},"token":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:kQ2b2GJg6xgW0sD8:o7k4Vn5G1N0C6pG8mW4WQ2h7aBSJfXc="}},"parent":"urn:pulumi:dev::demo::pulumi:pulumi:Stack::demo-dev","provider":"urn:pulumi:dev::demo::pulumi:providers:aws::default_6_70_0::04da6b54-80e4-46f7-96ec-b56ff0331ba9","propertyDependencies":{"bucket":[],"tags":[]},"created":"2026-03-20T10:11:12.123456789Z","modified":"2026-03-20T10:11:12.123456789Z"}`,
		i, i, i, i, i, i)
}

// ckpt describes a checkpoint to build.
type ckpt struct {
	version  int
	features []string
	stack    string
	sp       string // secrets_providers JSON; "" for none
	// resources is the number of resources; resourceBytes, when set,
	// adds resources until the resources array is at least that long.
	resources     int
	resourceBytes int
	spAfter       bool // secrets_providers after resources
	noLatest      bool
}

// build returns the compact checkpoint JSON.
func (c ckpt) build() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":%d,`, c.version)
	if len(c.features) > 0 {
		f, _ := json.Marshal(c.features)
		fmt.Fprintf(&b, `"features":%s,`, f)
	}
	stack := c.stack
	if stack == "" {
		stack = "organization/demo/dev"
	}
	fmt.Fprintf(&b, `"checkpoint":{"stack":%q`, stack)
	if !c.noLatest {
		b.WriteString(`,"latest":{"manifest":` + testManifest)
		if c.sp != "" && !c.spAfter {
			b.WriteString(`,"secrets_providers":` + c.sp)
		}
		if c.resources > 0 || c.resourceBytes > 0 {
			b.WriteString(`,"resources":[`)
			start := b.Len()
			for i := 0; i < c.resources || b.Len()-start < c.resourceBytes; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(testResource(i))
			}
			b.WriteByte(']')
		}
		if c.sp != "" && c.spAfter {
			b.WriteString(`,"secrets_providers":` + c.sp)
		}
		b.WriteString(`,"metadata":{}}`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// indent re-indents JSON with 4 spaces, as CLIs before PR #22245 wrote it.
func indent(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "    "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return b.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
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

var (
	zstdEncOnce sync.Once
	zstdEnc     *zstd.Encoder
)

func zstdBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	zstdEncOnce.Do(func() {
		var err error
		zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err)
		}
	})
	return zstdEnc.EncodeAll(data, nil)
}

// t0 is a fixed modification time; tN adds seconds to it.
var t0 = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

func tN(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// memBackend returns a backend over a storetest.Mem holding objs, all
// written at t0, plus meta.yaml version 1 unless objs sets it (or sets it
// to nil).
func memBackend(objs map[string][]byte) (*Backend, *storetest.Mem) {
	s := storetest.NewMem()
	if _, ok := objs[metaKey]; !ok {
		s.Put(metaKey, []byte("version: 1\n"), t0)
	}
	for k, v := range objs {
		if v != nil {
			s.Put(k, v, t0)
		}
	}
	return NewBackend(nil, s), s
}
