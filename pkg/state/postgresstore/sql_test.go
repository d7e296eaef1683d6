package postgresstore

import (
	"strings"
	"testing"
)

func TestEscapeLike(t *testing.T) {
	tests := []struct{ give, want string }{
		{".pulumi/stacks/my_project/", `.pulumi/stacks/my\_project/`},
		{"100%/", `100\%/`},
		{`a\b`, `a\\b`},
		{`_%\`, `\_\%\\`},
		{"plain/.pulumi/", "plain/.pulumi/"},
	}
	for _, tt := range tests {
		if got := escapeLike(tt.give); got != tt.want {
			t.Errorf("escapeLike(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestValidTable(t *testing.T) {
	for _, ok := range []string{"pulumi_state", "team_state2", "public.pulumi_state", `"Pulumi State"`, `db.public."t"`, "t$1", `"a.b".t`, "T_1"} {
		if !validTable(ok) {
			t.Errorf("validTable(%q) = false, want true", ok)
		}
	}
	for _, bad := range []string{"", "1t", "t; DROP TABLE x", `"a""b"`, "a.b.c.d", "t--", "(SELECT 1)", `"`, "t.", " t", `""`, ".t", "$t", "t\x00", `"a` + "\x00" + `b"`, "é"} {
		if validTable(bad) {
			t.Errorf("validTable(%q) = true, want false", bad)
		}
	}
}

func TestLocationHasNoPassword(t *testing.T) {
	t.Setenv("PGPASSWORD", "envs3cret")
	for _, dsn := range []string{
		"postgres://u:s3cret@db.example:6543/pulumi?sslmode=disable",
		"postgres://u@db.example/pulumi?password=s3cret",
		"postgres:///",
	} {
		s, err := New(t.Context(), Options{DSN: dsn, Table: "team_state", Prefix: "pulumi/"})
		if err != nil {
			t.Fatalf("New(%q): %v", dsn, err)
		}
		loc := s.Location(".pulumi/meta.yaml")
		if strings.Contains(loc, "s3cret") || !strings.HasPrefix(loc, "postgres://") ||
			!strings.HasSuffix(loc, "?table=team_state#pulumi/.pulumi/meta.yaml") {
			t.Errorf("New(%q).Location = %q, want postgres://…?table=team_state#pulumi/.pulumi/meta.yaml, no password", dsn, loc)
		}
	}
	s, _ := New(t.Context(), Options{DSN: "postgres://u:s3cret@db.example:6543/pulumi"})
	if got, want := s.Location("k"), "postgres://u@db.example:6543/pulumi?table=pulumi_state#k"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func TestNewRefusesTable(t *testing.T) {
	_, err := New(t.Context(), Options{DSN: "postgres://h/db", Table: "x; DROP TABLE y"})
	if err == nil || !strings.Contains(err.Error(), "?table=") {
		t.Errorf("New with a bad table = %v, want an error naming ?table=", err)
	}
}
