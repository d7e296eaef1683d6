package state

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stacksync/stacksync/internal/elide"
)

// maxNameLen is Pulumi's limit on project and stack names, in bytes.
const maxNameLen = 100

// quoteName quotes a name for an error message as %q does, cut when it
// is long (see elide.Name), so a 5,000-character name is not echoed whole,
// while one just over Pulumi's limit still is.
func quoteName(s string) string { return elide.Name(s, strconv.Quote) }

// StackRef names one stack of a DIY backend. Project is empty for a stack in
// the legacy (non-project) layout.
type StackRef struct {
	Project string
	Name    string
}

// String returns "project/stack", or just the stack in the legacy layout.
func (r StackRef) String() string {
	if r.Project == "" {
		return r.Name
	}
	return r.Project + "/" + r.Name
}

// refLess orders stack references as listings and audits are: by
// project, then stack.
func refLess(a, b StackRef) bool {
	if a.Project != b.Project {
		return a.Project < b.Project
	}
	return a.Name < b.Name
}

// validName reports whether s is a name Pulumi accepts for a project or stack
// (non-empty, characters from [A-Za-z0-9_.-]) and is not "." or "..", which
// Pulumi's pattern allows but which would escape a directory when joined into
// a path.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidateName checks a project or stack name: what is one of "project" or
// "stack", for the message. Like Pulumi's own validation it allows at most 100
// bytes; unlike Pulumi it also rejects "." and "..".
func ValidateName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s name %q is empty", ErrInvalidName, what, name)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %s name %s is longer than %d bytes", ErrInvalidName, what, quoteName(name), maxNameLen)
	case what == "stack" && strings.Contains(name, "/"):
		return fmt.Errorf("%w: stack name %s: use the bare stack name (dev, not organization/project/dev)", ErrInvalidName, quoteName(name))
	case !validName(name):
		return fmt.Errorf("%w: %s name %s: use only letters, digits, '_', '.' and '-', and not '.' or '..'", ErrInvalidName, what, quoteName(name))
	}
	return nil
}

// ParseStackRef parses a stack reference as Pulumi users write it: "stack",
// "project/stack" or "organization/project/stack" (the organization of a DIY
// backend must be the literal "organization"). A bare stack takes
// defaultProject.
func ParseStackRef(s, defaultProject string) (StackRef, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "." || p == ".." {
			return StackRef{}, fmt.Errorf("%w: stack %s: %q is not a project or stack name", ErrInvalidName, quoteName(s), p)
		}
	}
	var ref StackRef
	switch len(parts) {
	case 1:
		ref = StackRef{Project: defaultProject, Name: parts[0]}
	case 2:
		ref = StackRef{Project: parts[0], Name: parts[1]}
	case 3:
		if parts[0] != "organization" {
			return StackRef{}, fmt.Errorf("%w: stack %s: a DIY backend's organization is always \"organization\"", ErrInvalidName, quoteName(s))
		}
		ref = StackRef{Project: parts[1], Name: parts[2]}
	default:
		return StackRef{}, fmt.Errorf("%w: stack %s: write stack, project/stack or organization/project/stack", ErrInvalidName, quoteName(s))
	}
	if ref.Project == "" && len(parts) == 1 {
		return StackRef{}, fmt.Errorf("%w: stack %s has no project: run inside a Pulumi project or write project/stack", ErrInvalidName, quoteName(s))
	}
	if err := ValidateName("project", ref.Project); err != nil {
		return StackRef{}, err
	}
	if err := ValidateName("stack", ref.Name); err != nil {
		return StackRef{}, err
	}
	return ref, nil
}
