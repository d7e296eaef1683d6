package main

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// csvColumn is one CSV column of the audit: a field of stackReport
// under its JSON name.
type csvColumn struct {
	name  string
	index int
}

type csvColumns []csvColumn

// auditColumns derives the CSV columns from stackReport's JSON
// fields, in their order, so JSON and CSV cannot drift apart: fields
// tagged csv:"-" are left out, and those tagged csv:"keys" come only with
// --keys.
func auditColumns(keys bool) csvColumns {
	t := reflect.TypeFor[stackReport]()
	var cols csvColumns
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch c := f.Tag.Get("csv"); {
		case name == "" || name == "-" || c == "-":
			continue
		case c == "keys" && !keys:
			continue
		}
		cols = append(cols, csvColumn{name: name, index: i})
	}
	return cols
}

func (c csvColumns) names() []string {
	names := make([]string, len(c))
	for i, col := range c {
		names[i] = col.name
	}
	return names
}

// csvRow formats r's columns: strings as they are, numbers and booleans
// as strconv writes them, times in RFC 3339 UTC, and a missing time as "".
func csvRow(r stackReport, cols csvColumns) []string {
	v := reflect.ValueOf(r)
	row := make([]string, len(cols))
	for i, c := range cols {
		switch x := v.Field(c.index).Interface().(type) {
		case string:
			row[i] = x
		case int:
			row[i] = strconv.Itoa(x)
		case int64:
			row[i] = strconv.FormatInt(x, 10)
		case bool:
			row[i] = strconv.FormatBool(x)
		case time.Time:
			row[i] = x.UTC().Format(time.RFC3339)
		case *time.Time:
			row[i] = formatDate(x)
		}
	}
	return row
}
