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
