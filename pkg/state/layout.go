package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Directories of a DIY backend, relative to its root.
const (
	bookkeepingDir = ".pulumi/"
	metaKey        = bookkeepingDir + "meta.yaml"
	stacksDir      = bookkeepingDir + "stacks/"
	historyDir     = bookkeepingDir + "history/"
	backupsDir     = bookkeepingDir + "backups/"
	locksDir       = bookkeepingDir + "locks/"
)

// errDone stops a listing early once it has found what it looks for.
var errDone = errors.New("done")

// keyLayout is how a backend arranges its stacks: project mode (meta.yaml
// version 1, stacks under .pulumi/stacks/<project>/) or the legacy layout
// (stacks directly under .pulumi/stacks/). Its methods do pure string work.
type keyLayout struct {
	// Legacy is true for the legacy (non-project) layout.
	Legacy bool
	// MetaVersion is the version meta.yaml records, or -1 when the file is
	// absent.
	MetaVersion int
}

// detectLayout decides the layout as Pulumi does (spec §1.4): from
// .pulumi/meta.yaml when it exists, else legacy if any stack files sit
// directly under .pulumi/stacks/, else project mode. It never writes
// meta.yaml, although Pulumi would.
func detectLayout(ctx context.Context, s store.Store) (keyLayout, error) {
	// One byte more than allowed tells a long file from a full one.
	rc, err := s.ReadRange(ctx, metaKey, 0, maxSmallObject+1)
	switch {
	case errors.Is(err, store.ErrNotFound):
		legacy := false
		err := s.List(ctx, stacksDir, false, func(o store.Object) error {
			if _, _, ok := splitStackFile(o.Key[len(stacksDir):]); ok {
				legacy = true
				return errDone
			}
			return nil
		})
		if err != nil && err != errDone {
			return keyLayout{}, err
		}
		return keyLayout{Legacy: legacy, MetaVersion: -1}, nil
	case err != nil:
		return keyLayout{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return keyLayout{}, err // the store names the object
	}
	if len(data) > maxSmallObject {
		// Pulumi writes "version: 1\n"; a truncated read of a longer
		// file could miss its version key and report it missing.
		return keyLayout{}, fmt.Errorf("%w: %s is larger than %d bytes, where pulumi writes one line (version: 1); repair it", ErrCorrupt, s.Location(metaKey), maxSmallObject)
	}
	var meta struct {
		Version *int `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return keyLayout{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, s.Location(metaKey), err)
	}
	if meta.Version == nil {
		return keyLayout{}, fmt.Errorf("%w: %s: missing version", ErrCorrupt, s.Location(metaKey))
	}
	switch *meta.Version {
	case 0:
		return keyLayout{Legacy: true, MetaVersion: 0}, nil
	case 1:
		return keyLayout{MetaVersion: 1}, nil
	}
	return keyLayout{}, fmt.Errorf("%w: %s has version %d; stacksync reads versions 0 and 1", ErrUnsupportedVersion, s.Location(metaKey), *meta.Version)
}

// Checkpoint file extensions Pulumi may write, in listing order.
var checkpointExts = []string{".json", ".json.gz", ".json.zst"}

// splitStackFile splits a checkpoint file name such as "dev.json.gz" into
// the stack name and the extension, applying Pulumi's listing filter (spec
// §1.5): strip one .gz or .zst, and the rest must end in a marshaler
// extension. ok is false for .bak, .pulumi-tags, .attrs, .<unixnano> and
// other files. A .yaml or .yml stack passes the filter, as in Pulumi, but
// isCheckpointExt reports it as unreadable.
func splitStackFile(file string) (stack, ext string, ok bool) {
	base := file
	comp := ""
	for _, c := range []string{".gz", ".zst"} {
		if strings.HasSuffix(base, c) {
			base, comp = strings.TrimSuffix(base, c), c
			break
		}
	}
	for _, e := range []string{".json", ".yaml", ".yml"} {
		if name, found := strings.CutSuffix(base, e); found {
			if ValidateName("stack", name) != nil {
				return "", "", false
			}
			return name, e + comp, true
		}
	}
	return "", "", false
}

// isCheckpointExt reports whether Pulumi reads a stack file with this
// extension: .json, .json.gz or .json.zst.
func isCheckpointExt(ext string) bool {
	for _, e := range checkpointExts {
		if ext == e {
			return true
		}
	}
	return false
}

// stacksPrefix returns the key prefix under which the stacks of project live.
func (l keyLayout) stacksPrefix(project string) string {
	if l.Legacy {
		return stacksDir
	}
	return stacksDir + project + "/"
}

// checkpointBase returns the key of ref's plain .json checkpoint; the
// compressed variants add .gz or .zst.
func (l keyLayout) checkpointBase(ref StackRef) string {
	return l.stacksPrefix(ref.Project) + ref.Name + ".json"
}

// backupsPrefix returns the prefix of ref's timestamped backups.
func (l keyLayout) backupsPrefix(ref StackRef) string {
	if l.Legacy {
		return backupsDir + ref.Name + "/"
	}
	return backupsDir + ref.Project + "/" + ref.Name + "/"
}

// historyPrefix returns the prefix of ref's history entries.
func (l keyLayout) historyPrefix(ref StackRef) string {
	if l.Legacy {
		return historyDir + ref.Name + "/"
	}
	return historyDir + ref.Project + "/" + ref.Name + "/"
}

// locksPrefix returns the prefix of ref's lock files.
func (l keyLayout) locksPrefix(ref StackRef) string {
	if l.Legacy {
		return locksDir + ref.Name + "/"
	}
	return locksDir + "organization/" + ref.Project + "/" + ref.Name + "/"
}

// parseStackKey maps a key under .pulumi/stacks/ back to its stack, as
// Pulumi's listing does: "<project>/<stack><ext>" in project mode, and
// "<stack><ext>" for a legacy file (project ""). ok is false for keys that
// are not stack files.
func parseStackKey(key string) (ref StackRef, ext string, ok bool) {
	rel, found := strings.CutPrefix(key, stacksDir)
	if !found {
		return StackRef{}, "", false
	}
	parts := strings.Split(rel, "/")
	switch len(parts) {
	case 1:
		name, ext, ok := splitStackFile(parts[0])
		return StackRef{Name: name}, ext, ok
	case 2:
		// Pulumi's listing checks only the character set of a project
		// name (tokens.IsName), not its length.
		if !validName(parts[0]) {
			return StackRef{}, "", false
		}
		name, ext, ok := splitStackFile(parts[1])
		return StackRef{Project: parts[0], Name: name}, ext, ok
	}
	return StackRef{}, "", false
}

// parseLockKey returns the stack whose lock a key under .pulumi/locks/ is:
// .pulumi/locks/organization/<project>/<stack>/<uuid>.json in project
// mode, .pulumi/locks/<stack>/<uuid>.json in the legacy layout (where the
// reference has no project). Pulumi counts any file there as a lock.
func (l keyLayout) parseLockKey(key string) (StackRef, bool) {
	rest, ok := strings.CutPrefix(key, locksDir)
	if !ok {
		return StackRef{}, false
	}
	parts := strings.Split(rest, "/")
	switch {
	case !l.Legacy && len(parts) == 4 && parts[0] == "organization":
		return StackRef{Project: parts[1], Name: parts[2]}, true
	case len(parts) == 2:
		return StackRef{Name: parts[0]}, true
	}
	return StackRef{}, false
}
