package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxProviderJSON caps the secrets_providers object kept for decoding;
// pulumi's are a few hundred bytes.
const maxProviderJSON = 64 << 10

// maxStackField caps the stack field kept for display.
const maxStackField = 4 << 10

// deploymentDoc is what decodeCheckpoint keeps of a DeploymentV3.
type deploymentDoc struct {
	provider *providerJSON
}

// checkpointDoc is what decodeCheckpoint keeps of a checkpoint file, field by
// field as encoding/json would fill apitype.VersionedCheckpoint and
// CheckpointV3.
type checkpointDoc struct {
	version int
	// checkpoint is the CheckpointV3 of the last "checkpoint" member.
	hasCheckpoint  bool
	checkpointKind byte // the first byte of its value: '{', 'n' or another
	stack          string
	latest         *deploymentDoc
	// deployment is the "deployment" of pulumi stack export output.
	hasDeployment bool
	deployment    *deploymentDoc
	// topStack is a version-0 (CheckpointV1) file's top-level stack.
	topStack string
	// deferred are type errors that fail pulumi's decoding only for some
	// versions, which may come last in the file.
	deferred []deferredError
}

// deferredError is an error that applies when the checkpoint's version
// makes pulumi decode the member that holds it.
type deferredError struct {
	applies func(version int) bool
	err     error
}

func fromV1(v int) bool { return v >= 1 }
func fromV3(v int) bool { return v >= 3 }
func onlyV0(v int) bool { return v == 0 }

// later records err, a type error of a member, for head to return if the
// version makes it matter; other errors (bad JSON, a failed read) stop the
// decode at once.
func (c *checkpointDoc) later(applies func(int) bool, err error) error {
	if err != nil && errors.Is(err, ErrCorrupt) {
		c.deferred = append(c.deferred, deferredError{applies, err})
		return nil
	}
	return err
}

// field reports whether a JSON key fills the struct field name, as
// encoding/json matches them: exactly, or else case-insensitively.
func field(key []byte, name string) bool { return strings.EqualFold(string(key), name) }

func (c *checkpointDoc) decode(s *scanner) error {
	first, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	switch first {
	case 'n':
		// json.Unmarshal of null into a struct does nothing: pulumi
		// reads an empty version-0 checkpoint.
		if err := s.literal("null"); err != nil {
			return err
		}
		return s.finish()
	case '{':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return fmt.Errorf("%w: the checkpoint is not a JSON object", ErrCorrupt)
	}
	err = s.object(func(key []byte) error {
		switch {
		case field(key, "version"):
			return c.decodeVersion(s)
		case field(key, "checkpoint"):
			// A json.RawMessage: the last one replaces the others whole.
			c.hasCheckpoint, c.stack, c.latest = true, "", nil
			k, err := s.next()
			if err != nil {
				return s.unexpected(err)
			}
			c.checkpointKind = k
			if k != '{' {
				return s.skip()
			}
			// Version 0 files are decoded as a whole CheckpointV1,
			// which has no checkpoint member; versions 1 and 2 have no
			// secrets providers.
			return s.object(func(key []byte) error {
				switch {
				case field(key, "stack"):
					return c.later(fromV1, decodeString(s, &c.stack, "checkpoint.stack"))
				case field(key, "latest"):
					return c.decodeDeployment(s, &c.latest, "checkpoint.latest")
				}
				return s.skip()
			})
		case field(key, "deployment"):
			c.hasDeployment, c.deployment = true, nil
			return c.decodeDeployment(s, &c.deployment, "deployment")
		case field(key, "features"):
			return c.decodeFeatures(s)
		case field(key, "stack"):
			return c.later(onlyV0, decodeString(s, &c.topStack, "stack"))
		case field(key, "latest"):
			// A version-0 file's CheckpointV1 latest, which has no
			// secrets providers; only its kind matters.
			k, err := s.next()
			if err != nil {
				return s.unexpected(err)
			}
			if err := s.skip(); err != nil {
				return err
			}
			if k != '{' && k != 'n' {
				return c.later(onlyV0, fmt.Errorf("%w: latest is not an object", ErrCorrupt))
			}
			return nil
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	return s.finish()
}

// decodeVersion reads the version field into an int, as encoding/json
// would: a null leaves it as it was, anything but an integer is an error.
func (c *checkpointDoc) decodeVersion(s *scanner) error {
	raw, over, err := s.capture(32)
	if err != nil {
		return err
	}
	if over {
		return fmt.Errorf("%w: version is not a small integer", ErrCorrupt)
	}
	if err := json.Unmarshal(raw, &c.version); err != nil {
		return typeError("version", err)
	}
	return nil
}

// decodeString reads a string field (the stack); a value too long to keep
// is read past and left empty, since the field is only shown.
func decodeString(s *scanner, dst *string, what string) error {
	raw, over, err := s.capture(maxStackField)
	if err != nil || over {
		if over {
			*dst = ""
		}
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeError(what, err)
	}
	return nil
}

// decodeDeployment reads a *DeploymentV3 member into *dst: null sets it to
// nil, an object is merged into the one already there. A value that is no
// object fails pulumi from version 1 on, a bad secrets_providers from
// version 3 on; both are recorded with c.later.
func (c *checkpointDoc) decodeDeployment(s *scanner, dst **deploymentDoc, what string) error {
	k, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	switch k {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '{':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return c.later(fromV1, fmt.Errorf("%w: %s is not an object", ErrCorrupt, what))
	}
	if *dst == nil {
		*dst = &deploymentDoc{}
	}
	d := *dst
	return s.object(func(key []byte) error {
		if !field(key, "secrets_providers") {
			return s.skip()
		}
		raw, over, err := s.capture(maxProviderJSON)
		switch {
		case err != nil:
			return err
		case over:
			return c.later(fromV3, fmt.Errorf("%w: %s.secrets_providers is larger than %d bytes; pulumi writes a few hundred", ErrCorrupt, what, maxProviderJSON))
		}
		// Into the same pointer each time: encoding/json's merge.
		if err := json.Unmarshal(raw, &d.provider); err != nil {
			return c.later(fromV3, typeError(what+".secrets_providers", err))
		}
		return nil
	})
}

// decodeFeatures checks that features is what pulumi decodes into a
// []string: null, or an array of strings and nulls.
func (c *checkpointDoc) decodeFeatures(s *scanner) error {
	k, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	if k != '[' {
		if err := s.skip(); err != nil {
			return err
		}
		if k == 'n' {
			return nil
		}
		return fmt.Errorf("%w: features is not an array", ErrCorrupt)
	}
	bad := false
	err = s.arrayOf(func(first byte) error {
		bad = bad || (first != '"' && first != 'n')
		return s.skip()
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: features holds something other than strings", ErrCorrupt)
	}
	return err
}

// head turns the decoded document into a Head.
func (c *checkpointDoc) head(h *Head) error {
	h.Version = c.version
	if h.Version < 0 || h.Version > MaxCheckpointVersion {
		return fmt.Errorf("%w: checkpoint version %d (stacksync reads 0 to %d)", ErrUnsupportedVersion, h.Version, MaxCheckpointVersion)
	}
	for _, d := range c.deferred {
		if d.applies(h.Version) {
			return d.err
		}
	}
	latest := c.latest
	switch {
	case c.hasCheckpoint:
		h.Stack = c.stack
		// Versions 1-4 decode the checkpoint member as a struct, which
		// only an object or null can fill.
		if h.Version > 0 && c.checkpointKind != '{' && c.checkpointKind != 'n' {
			return fmt.Errorf("%w: checkpoint is not an object", ErrCorrupt)
		}
	case c.hasDeployment && h.Version >= 3:
		latest = c.deployment
	case h.Version > 0:
		// Pulumi decodes the missing member, an empty json.RawMessage,
		// and fails.
		return fmt.Errorf("%w: a version %d checkpoint with no checkpoint member", ErrCorrupt, h.Version)
	default:
		h.Stack = c.topStack
	}
	h.HasLatest = latest != nil
	if h.Version < 3 || latest == nil || latest.provider == nil || latest.provider.Type == "" {
		// Versions 0-2 predate secrets providers.
		return nil
	}
	p, err := providerFrom(latest.provider)
	if err != nil {
		return err
	}
	h.Provider = p
	return nil
}

// typeError says which field holds the wrong kind of value, not which Go
// type it failed to fill.
func typeError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := what
		if te.Field != "" {
			field += "." + te.Field
		}
		return fmt.Errorf("%w: %s holds a JSON %s where pulumi writes something else", ErrCorrupt, field, te.Value)
	}
	return fmt.Errorf("%w: decoding %s: %v", ErrCorrupt, what, err)
}
