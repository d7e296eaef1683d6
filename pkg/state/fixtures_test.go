package state

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// Test values shaped like what pulumi v3.274.1 writes (spec §2.4, §2.5,
// §9); storetest builds the checkpoints that hold them.
const (
	testSalt   = "v1:Nb3UqPj4BZc=:v1:k6hOsDcaUKE8ANmp:pc+0vMnFeWvXtx6ZiWnNYDCF2dGSnA=="
	testKMSURL = "awskms://alias/pulumi-state?region=eu-west-1"
	testKMSKey = "AQICAHhB8r8M3bwXkDHq8mRZq0xW9CkO2Ry1b9YU7Oqk3S3+1wHk4YdZ4pD9n0mEw2Fq4m5LAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMr3Bz2Y8l6Wq1O6jEAgEQgDvN5q3n8w=="
)

// indent re-indents JSON with 4 spaces, as CLIs before PR #22245 wrote it.
func indent(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "    "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return b.Bytes()
}

// t0 is a fixed modification time; tN adds seconds to it.
var t0 = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

func tN(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// memBackend returns a backend over a storetest.Mem holding objs, all
// written at t0, plus meta.yaml version 1 unless objs sets it (or sets it
// to nil).
func memBackend(objs map[string][]byte) (*Backend, storetest.Mem) {
	s := storetest.NewMem()
	if _, ok := objs[metaKey]; !ok {
		s.Put(metaKey, []byte("version: 1\n"), t0)
	}
	for k, v := range objs {
		if v != nil {
			s.Put(k, v, t0)
		}
	}
	return newBackend(nil, s), s
}
