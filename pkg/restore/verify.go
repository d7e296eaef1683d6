package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/settings"
)

// verdict is what pulumi up would meet with r's settings file: the file
// as it is in Verify mode, else as Run left it (or would leave it). It
// first checks that the file agrees with state, as a Check run would, then
// asks the verifier whether the provider decrypts. It is nil for a stack
// that failed before its file could be judged.
func verdict(ctx context.Context, opts Options, r Result) *secrets.Result {
	if r.Err != nil && (opts.Mode != Verify || !errors.Is(r.Err, ErrUneditable)) {
		return nil
	}
	data := r.After
	if opts.Mode == Verify || data == nil {
		data = r.Before
	}
	p := r.Resolved.Provider
	v, agree := agreement(r.File, data, fieldsFor(p))
	if agree {
		v = opts.Verifier.Verify(ctx, p)
	}
	return &v
}

// agreement checks that a settings file's data (nil: no file) holds the
// provider fields want, as restore's check does: it agrees when an edit
// would set nothing and find no conflict (removing an empty field changes
// nothing pulumi reads).
func agreement(path string, data []byte, want settings.Fields) (secrets.Result, bool) {
	fail := func(reason secrets.Reason, format string, args ...any) (secrets.Result, bool) {
		return secrets.Result{Status: secrets.StatusFail, Reason: reason, Message: fmt.Sprintf(format, args...)}, false
	}
	if data == nil {
		return fail(secrets.ReasonSettingsMissing, "%s does not exist, so pulumi would not use the stack's secrets provider", path)
	}
	_, er, err := settings.Edit(path, data, want, false)
	switch {
	case errors.Is(err, settings.ErrConflict):
		return fail(secrets.ReasonSettingsMismatch, "%s differs from the checkpoint in %s, so pulumi would use another secrets provider than the stack's", path, strings.Join(er.Conflicts, ", "))
	case err != nil:
		return fail(secrets.ReasonSettingsUnreadable, "%s: %v", path, err)
	case len(er.Set) > 0:
		return fail(secrets.ReasonSettingsMismatch, "%s lacks %s, so pulumi would not use the stack's secrets provider", path, strings.Join(er.Set, ", "))
	}
	return secrets.Result{}, true
}
