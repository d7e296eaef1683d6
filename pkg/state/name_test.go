package state

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name   string
		wantOK bool
	}{
		{"dev", true},
		{"my-project_2", true},
		{"dev.eu-west-1", true},
		{"A.B-c_9", true},
		{".dev", true},
		{"...", true},
		{"-", true},
		{strings.Repeat("a", 100), true},
		{strings.Repeat("a", 101), false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{`a\b`, false},
		{"dev stack", false},
		{"dév", false},
		{"dev\x00", false},
		{"dev\n", false},
		{"dev:prod", false},
		{"~", false},
	}
	for _, tt := range tests {
		for _, what := range []string{"project", "stack"} {
			err := ValidateName(what, tt.name)
			if (err == nil) != tt.wantOK {
				t.Errorf("ValidateName(%q, %q) = %v, want ok %v", what, tt.name, err, tt.wantOK)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidName) {
					t.Errorf("ValidateName(%q, %q) = %v, does not wrap ErrInvalidName", what, tt.name, err)
				}
				if !strings.Contains(err.Error(), what) {
					t.Errorf("ValidateName(%q, %q) = %v, does not say which name", what, tt.name, err)
				}
			}
		}
	}
}

func TestParseStackRef(t *testing.T) {
	tests := []struct {
		give, defaultProject string
		want                 StackRef
		wantErr              bool
	}{
		{give: "dev", defaultProject: "demo", want: StackRef{Project: "demo", Name: "dev"}},
		{give: "demo/dev", want: StackRef{Project: "demo", Name: "dev"}},
		{give: "other/dev", defaultProject: "demo", want: StackRef{Project: "other", Name: "dev"}},
		{give: "organization/demo/dev", want: StackRef{Project: "demo", Name: "dev"}},
		{give: "organization/demo/dev.eu-west-1", want: StackRef{Project: "demo", Name: "dev.eu-west-1"}},
		{give: "acme/demo/dev", wantErr: true},
		{give: "Organization/demo/dev", wantErr: true},
		{give: "dev", wantErr: true},
		{give: "", defaultProject: "demo", wantErr: true},
		{give: ".", defaultProject: "demo", wantErr: true},
		{give: "..", defaultProject: "demo", wantErr: true},
		{give: "demo/..", wantErr: true},
		{give: "../dev", wantErr: true},
		{give: "./dev", wantErr: true},
		{give: "organization/../dev", wantErr: true},
		{give: "a/b/c/d", wantErr: true},
		{give: "organization/demo/dev/x", wantErr: true},
		{give: "/dev", wantErr: true},
		{give: "demo/", wantErr: true},
		{give: "demo/" + strings.Repeat("s", 101), wantErr: true},
		{give: strings.Repeat("p", 101) + "/dev", wantErr: true},
		{give: "demo/" + strings.Repeat("s", 100), want: StackRef{Project: "demo", Name: strings.Repeat("s", 100)}},
		{give: "demo/dev prod", wantErr: true},
		{give: "demo/dev$", wantErr: true},
		{give: "dev", defaultProject: "bad project", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseStackRef(tt.give, tt.defaultProject)
		if tt.wantErr {
			if err == nil || !errors.Is(err, ErrInvalidName) {
				t.Errorf("ParseStackRef(%q, %q) = %+v, %v; want an ErrInvalidName error", tt.give, tt.defaultProject, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseStackRef(%q, %q) = %+v, %v; want %+v", tt.give, tt.defaultProject, got, err, tt.want)
		}
	}
}

func TestStackRefString(t *testing.T) {
	for _, tt := range []struct {
		ref  StackRef
		want string
	}{
		{StackRef{Project: "demo", Name: "dev"}, "demo/dev"},
		{StackRef{Name: "dev"}, "dev"},
	} {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

// A long name is quoted cut short with its length, never whole: the error
// for a 5,000-character name is one short line.
func TestLongNamesAreShortenedInErrors(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"ValidateName", ValidateName("stack", long)},
		{"ValidateName with a slash", ValidateName("stack", long+"/a")},
		{"ValidateName with a space", ValidateName("project", "a "+long)},
		{"ParseStackRef bare", func() error { _, err := ParseStackRef(long, "demo"); return err }()},
		{"ParseStackRef no project", func() error { _, err := ParseStackRef(long, ""); return err }()},
		{"ParseStackRef parts", func() error { _, err := ParseStackRef(long+"/a/b/c", "demo"); return err }()},
		{"ParseStackRef organization", func() error { _, err := ParseStackRef("acme/"+long+"/dev", "demo"); return err }()},
		{"ParseStackRef dot-dot", func() error { _, err := ParseStackRef(long+"/..", "demo"); return err }()},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.what)
			continue
		}
		msg := tc.err.Error()
		if len(msg) > 300 {
			t.Errorf("%s: error is %d bytes long: %.120s…", tc.what, len(msg), msg)
		}
		if !strings.Contains(msg, "bytes)") {
			t.Errorf("%s: error %.120q… does not give the name's length", tc.what, msg)
		}
	}
}

func TestQuoteName(t *testing.T) {
	tests := []struct{ give, want string }{
		{"dev", `"dev"`},
		{strings.Repeat("a", 101), `"` + strings.Repeat("a", 101) + `"`},
		{strings.Repeat("a", 128), `"` + strings.Repeat("a", 128) + `"`},
		{strings.Repeat("a", 129), `"` + strings.Repeat("a", 64) + `"…(129 bytes)`},
		// A cut never splits a character: 63 bytes of a, then é (2 bytes).
		{strings.Repeat("a", 63) + "é" + strings.Repeat("b", 100), `"` + strings.Repeat("a", 63) + `"…(165 bytes)`},
		{"a\x1bb", `"a\x1bb"`},
	}
	for _, tt := range tests {
		if got := quoteName(tt.give); got != tt.want {
			t.Errorf("quoteName(%.20q…) = %s, want %s", tt.give, got, tt.want)
		}
	}
}
