package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestStackNotFoundMessage: the message names at most a handful of the
// project's stacks and counts the rest, or says there are more.
func TestStackNotFoundMessage(t *testing.T) {
	names := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf("s%d", i))
		}
		return s
	}
	ref := StackRef{Project: "demo", Name: "prod"}
	tests := []struct {
		others []string
		more   int
		want   string
	}{
		{nil, 0, "stack demo/prod not found: backend s3://b holds no stacks of project demo"},
		{names(3), 0, "stack demo/prod not found in backend s3://b; project demo has: s0, s1, s2"},
		{names(5), 0, "project demo has: s0, s1, s2, s3, s4"},
		{names(12), 0, "project demo has: s0, s1, s2, s3, s4 and 7 more"},
		{names(5), 2990, "project demo has: s0, s1, s2, s3, s4 and 2,990 more"},
		{names(5), -1, "project demo has: s0, s1, s2, s3, s4 and more"},
		{names(7), -1, "project demo has: s0, s1, s2, s3, s4 and more"},
		{names(5), 1234567, " and 1,234,567 more"},
	}
	for _, tt := range tests {
		err := &StackNotFoundError{Ref: ref, Backend: "s3://b", Others: tt.others, More: tt.more, Err: ErrStackNotFound}
		if got := err.Error(); !strings.HasSuffix(got, tt.want) || strings.Count(got, "\n") != 0 {
			t.Errorf("Others %d, More %d: %q, want it to end %q", len(tt.others), tt.more, got, tt.want)
		}
		if !errors.Is(err, ErrStackNotFound) {
			t.Errorf("%v does not wrap ErrStackNotFound", err)
		}
	}
}

// TestStackNotFoundListsAHandful: a missing stack's message costs one
// listing of the project, which stops after a handful of names, whatever
// the project's size.
func TestStackNotFoundListsAHandful(t *testing.T) {
	objs := map[string][]byte{metaKey: []byte("version: 1\n")}
	cp := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase("v1:x")}.Build()
	for i := range 40 {
		objs[fmt.Sprintf(".pulumi/stacks/demo/s%02d.json", i)] = cp
		objs[fmt.Sprintf(".pulumi/stacks/demo/s%02d.json.bak", i)] = cp
	}
	objs[".pulumi/stacks/demo/s00.json.gz"] = storetest.Gzip(t, cp)
	_, mem := memBackend(objs)
	rec := storetest.NewRecorder(mem, 0)
	b := newBackend(nil, rec)
	err := b.StackNotFound(context.Background(), StackRef{Project: "demo", Name: "prod"}, ErrStackNotFound)
	var nf *StackNotFoundError
	if !errors.As(err, &nf) || !slices.Equal(nf.Others, []string{"s00", "s01", "s02", "s03", "s04"}) || nf.More != -1 {
		t.Fatalf("StackNotFound = %#v, want s00…s04 and more", err)
	}
	lists := 0
	for _, r := range rec.Requests() {
		if strings.HasPrefix(r, "LIST ") {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("requests %q, want one listing", rec.Requests())
	}
}
