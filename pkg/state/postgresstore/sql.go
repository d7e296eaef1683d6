package postgresstore

import (
	"regexp"
	"strings"
)

// tableName matches the table names the store accepts: one to three
// dot-separated parts (table, schema.table, database.schema.table), each
// a plain identifier or a double-quoted one with no quote inside. Such a
// name is safe to paste into SQL as it is, and then resolves exactly as
// in pulumi's queries, which paste table= as it is too.
var tableName = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"\x00]+")(?:\.(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"\x00]+")){0,2}$`)

// validTable reports whether t is a table name the store accepts.
func validTable(t string) bool { return tableName.MatchString(t) }

// escapeLike escapes s for a LIKE pattern with the default escape
// character: "\", "%" and "_" match themselves. pulumi's own listing
// passes its prefix unescaped, so that "_" matches any character there;
// the store lists by literal prefix.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sizeOf is the SQL for the size of the object whose base64 text is d:
// three bytes per four characters, less one per "=" of padding. The server
// computes it, so a listing or a stat never transfers an object's data.
// (pulumi's own driver leaves the padding in: it reports "gz" as 3 bytes.)
const sizeOf = `octet_length(d) / 4 * 3 - (octet_length(d) - octet_length(rtrim(d, '=')))`

// queries are the store's SQL for one table: SELECT statements only, each
// with its key or prefix as a parameter. The table's rows are pulumi's:
// (key text primary key, data json {"data": "<base64>"}, updated_at).
type queries struct {
	list, listShallow, stat, read, readMore string
}

// newQueries returns the queries for table, which validTable accepts.
func newQueries(table string) queries {
	rows := `(SELECT key, updated_at, data->>'data' AS d FROM ` + table + `) AS r`
	// LIKE with a constant prefix can use pulumi's text_pattern_ops
	// index; the keys come back in byte order, as S3 lists them, whatever
	// the database's collation.
	list := `SELECT key, updated_at, ` + sizeOf + ` FROM ` + rows + ` WHERE key LIKE $1`
	order := ` ORDER BY key COLLATE "C"`
	return queries{
		list: list + order,
		// Only the keys with no "/" after the prefix ($2 is its length in
		// characters plus one).
		listShallow: list + ` AND strpos(substr(key, $2), '/') = 0` + order,
		stat:        `SELECT updated_at, ` + sizeOf + ` FROM ` + rows + ` WHERE key = $1`,
		// $2 and $3: the first base64 character (from 1) and how many.
		read: `SELECT updated_at, ` + sizeOf + `, substr(d, $2, $3) FROM ` + rows + ` WHERE key = $1`,
		// The same, of the row as first read: $4 is its updated_at.
		readMore: `SELECT updated_at, ` + sizeOf + `, substr(d, $2, $3) FROM ` + rows + ` WHERE key = $1 AND updated_at = $4`,
	}
}
