package state

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestLocks(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(nil)
	const lock = `{"pid":4242,"username":"alice","hostname":"build-7","timestamp":"2026-03-20T10:11:12.5Z"}`
	s.Put(".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/dev/9a8b7c6d-0000-4000-8000-000000000000.json", []byte("not json"), t0)
	s.Put(".pulumi/locks/organization/demo/dev/readme.txt", []byte("x"), t0)
	s.Put(".pulumi/locks/organization/demo/dev/sub/x.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/prod/1.json", []byte(lock), t0)
	s.Put(".pulumi/locks/old/2.json", []byte(lock), t0)
	s.Put(".pulumi/locks/weird.json", []byte(lock), t0)

	got, err := b.Locks(ctx, StackRef{"demo", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Lock{
		{Key: ".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json", PID: 4242, Username: "alice", Hostname: "build-7",
			Timestamp: time.Date(2026, 3, 20, 10, 11, 12, 5e8, time.UTC)},
		{Key: ".pulumi/locks/organization/demo/dev/9a8b7c6d-0000-4000-8000-000000000000.json"},
		// Pulumi counts any file in the lock directory as a lock.
		{Key: ".pulumi/locks/organization/demo/dev/readme.txt"},
	}
	if len(got) != len(want) {
		t.Fatalf("Locks = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].PID != want[i].PID || got[i].Username != want[i].Username ||
			got[i].Hostname != want[i].Hostname || !got[i].Timestamp.Equal(want[i].Timestamp) {
			t.Errorf("Locks[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, err := b.Locks(ctx, StackRef{"demo", "staging"}); err != nil || len(got) != 0 {
		t.Errorf("Locks(unlocked) = %+v, %v", got, err)
	}

	locked, err := b.lockedStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantLocked := map[StackRef]bool{{"demo", "dev"}: true, {"demo", "prod"}: true, {Name: "old"}: true}
	if !reflect.DeepEqual(locked, wantLocked) {
		t.Errorf("lockedStacks = %v, want %v", locked, wantLocked)
	}
}

func TestLocksLegacy(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(map[string][]byte{metaKey: []byte("version: 0\n")})
	const lock = `{"pid":1,"username":"bob","hostname":"h","timestamp":"2026-03-20T10:11:12Z"}`
	s.Put(".pulumi/locks/dev/3f0c.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/prod/1.json", []byte(lock), t0)
	got, err := b.Locks(ctx, StackRef{Name: "dev"})
	if err != nil || len(got) != 1 || got[0].Username != "bob" {
		t.Errorf("Locks(dev) = %+v, %v", got, err)
	}
	locked, err := b.lockedStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[StackRef]bool{{Name: "dev"}: true}; !reflect.DeepEqual(locked, want) {
		t.Errorf("lockedStacks = %v, want %v", locked, want)
	}
}
