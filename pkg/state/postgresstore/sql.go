package postgresstore

import (
	"strings"
)

// validTable reports whether t is a table name the store accepts: one to
// three dot-separated parts (table, schema.table, database.schema.table),
// each a plain identifier or a double-quoted one with no quote or NUL
// inside. Such a name is safe to paste into SQL as it is, and then
// resolves exactly as in pulumi's queries, which paste table= as it is
// too. (A hand-written scan: a regexp would be compiled at every start.)
func validTable(t string) bool {
	for part := 1; ; part++ {
		if t == "" {
			return false
		}
		if t[0] == '"' {
			end := strings.IndexByte(t[1:], '"')
			if end < 1 || strings.IndexByte(t[1:1+end], 0) >= 0 {
				return false // unterminated, empty, or with a NUL
			}
			t = t[end+2:]
		} else {
			i := 0
			for i < len(t) && identByte(t[i], i == 0) {
				i++
			}
			if i == 0 {
				return false
			}
			t = t[i:]
		}
		switch {
		case t == "":
			return true
		case t[0] != '.' || part == 3:
			return false
		}
		t = t[1:]
	}
}

// identByte reports whether c may be in a plain identifier: an ASCII
// letter or "_", then also a digit or "$".
func identByte(c byte, first bool) bool {
	switch {
	case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return true
	case first:
		return false
	}
	return '0' <= c && c <= '9' || c == '$'
}

// escapeLike escapes s for a LIKE pattern with the default escape
// character: "\", "%" and "_" match themselves. pulumi's own listing
// passes its prefix unescaped, so that "_" matches any character there;
// the store lists by literal prefix.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sizeOf is the SQL for the size of the object whose base64 text is the
// bytea b: three bytes per four characters, less one per "=" of padding.
// The server computes it, so a listing or a stat never transfers an
// object's data. (pulumi's own driver leaves the padding in: it reports
// "gz" as 3 bytes.) The text is handled as bytea, where a length, a byte
// or a substring costs the same at any offset: on text, a database whose
// encoding is UTF8 walks the characters from the start.
const sizeOf = `octet_length(b) / 4 * 3 - CASE WHEN octet_length(b) > 0 AND get_byte(b, octet_length(b) - 1) = 61 ` +
	`THEN CASE WHEN octet_length(b) > 1 AND get_byte(b, octet_length(b) - 2) = 61 THEN 2 ELSE 1 END ELSE 0 END`

// queries are the store's SQL for one table: SELECT statements only, each
// with its key or prefix as a parameter. The table's rows are pulumi's:
// (key text primary key, data json {"data": "<base64>"}, updated_at).
type queries struct {
	list, listShallow, stat, read string
}

// newQueries returns the queries for table, which validTable accepts.
func newQueries(table string) queries {
	// rows are the rows that match where, each with its base64 text as
	// the bytea b, extracted from the JSON once (OFFSET 0 keeps the
	// planner from inlining it into each expression that uses it).
	rows := func(where string) string {
		return `(SELECT key, updated_at, convert_to(data->>'data', 'UTF8') AS b FROM ` + table +
			` WHERE ` + where + ` OFFSET 0) AS r`
	}
	// LIKE with a constant prefix can use pulumi's text_pattern_ops
	// index; the keys come back in byte order, as S3 lists them, whatever
	// the database's collation.
	list := `SELECT key, updated_at, ` + sizeOf + ` FROM `
	order := ` ORDER BY key COLLATE "C"`
	// avail is the number of base64 characters to read from the $2nd
	// (from 1), at most $4.
	const avail = `least(octet_length(b) - $2 + 1, $4)`
	return queries{
		list: list + rows(`key LIKE $1`) + order,
		// Only the keys with no "/" after the prefix ($2 is its length in
		// characters plus one).
		listShallow: list + rows(`key LIKE $1 AND strpos(substr(key, $2), '/') = 0`) + order,
		stat:        `SELECT updated_at, ` + sizeOf + ` FROM ` + rows(`key = $1`),
		// A read is one statement, so it reads one version of the row
		// (one snapshot), in rows of at most $3 characters each; the
		// object's size comes with every row, and a range past the end
		// is one row with no data.
		read: `SELECT ` + sizeOf + `, convert_from(substring(b FROM $2 + g * $3 FOR least($3, ` + avail + ` - g * $3)), 'UTF8') FROM ` +
			rows(`key = $1`) + ` LEFT JOIN LATERAL generate_series(0, (` + avail + ` - 1) / $3) AS g ON ` + avail + ` > 0 ORDER BY g`,
	}
}
