package state

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePostgresURL(t *testing.T) {
	tests := []struct {
		name, give         string
		dsn, table, prefix string
	}{
		{"database names the prefix", "postgres://u:pw@db.example:5432/pulumi?sslmode=disable",
			"postgres://u:pw@db.example:5432/pulumi?sslmode=disable", "", "pulumi/"},
		{"table= is taken out", "postgres://u@h/db?table=team_state&sslmode=require",
			"postgres://u@h/db?sslmode=require", "team_state", "db/"},
		{"the rest is re-encoded, sorted", "postgres://h/db?sslmode=disable&application_name=a%20b&connect_timeout=5",
			"postgres://h/db?application_name=a+b&connect_timeout=5&sslmode=disable", "", "db/"},
		{"no database: no prefix", "postgres://u@h:5433?sslmode=disable", "postgres://u@h:5433?sslmode=disable", "", ""},
		{"three slashes: the PG* environment", "postgres:///?table=env_state", "postgres:///", "env_state", ""},
		{"database from the path, host from the environment", "postgres:///db", "postgres:///db", "", "db/"},
		{"a longer path is a longer prefix", "postgres://h/db/team/", "postgres://h/db/team/", "", "db/team/"},
		{"prefix= goes first, and out", "postgres://h/db?prefix=p/&sslmode=disable", "postgres://h/db?sslmode=disable", "", "p/db/"},
		{"an empty prefix= stays, as gocloud leaves it", "postgres://h/db?prefix=", "postgres://h/db?prefix=", "", "db/"},
		{"escaped path decoded for the prefix", "postgres://h/my%20db", "postgres://h/my%20db", "", "my db/"},
		{"fragment dropped", "postgres://h/db#x", "postgres://h/db", "", "db/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, "/base", "/home/u")
			if err != nil {
				t.Fatalf("ParseBackendURL(%q): %v", tt.give, err)
			}
			o := u.Postgres
			if u.Scheme != "postgres" || o.DSN != tt.dsn || o.Table != tt.table || o.Prefix != tt.prefix {
				t.Errorf("ParseBackendURL(%q) = scheme %q, DSN %q, table %q, prefix %q; want postgres, %q, %q, %q",
					tt.give, u.Scheme, o.DSN, o.Table, o.Prefix, tt.dsn, tt.table, tt.prefix)
			}
			if u.Raw != Redact(tt.give) || strings.Contains(u.Raw, "pw@") {
				t.Errorf("Raw = %q, want %q, no password", u.Raw, Redact(tt.give))
			}
		})
	}
}

func TestParsePostgresURLRefusals(t *testing.T) {
	for _, give := range []string{
		"postgres://", "postgres://?table=t", "postgres://u:s3cret@h/db?key=x", "postgres://u:s3cret@h:bad/db",
	} {
		_, err := ParseBackendURL(give, "/base", "/home/u")
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("ParseBackendURL(%q) = %v, want ErrInvalidURL", give, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseBackendURL(%q) error %q shows the password", give, err)
		}
	}
}
