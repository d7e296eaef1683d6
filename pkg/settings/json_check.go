package settings

import "bytes"

// checkJSONEdit parses the edited file and checks that it holds the wanted
// fields and exactly the other members of the original.
func checkJSONEdit(orig []jsonEntry, edited []byte, want [3]fieldState) error {
	d, err := parseJSON(edited)
	if err != nil {
		return editUnsafe(err.Error())
	}
	if d.states() != want {
		return editUnsafe("fields differ after the edit")
	}
	others := func(es []jsonEntry) []jsonEntry {
		var out []jsonEntry
		for _, e := range es {
			if fieldIndexJSON(e.name) < 0 {
				out = append(out, e)
			}
		}
		return out
	}
	a, b := others(orig), others(d.entries)
	if len(a) != len(b) {
		return editUnsafe("other keys changed")
	}
	for i := range a {
		if !bytes.Equal(a[i].key, b[i].key) || !bytes.Equal(a[i].sep, b[i].sep) || !bytes.Equal(a[i].val, b[i].val) {
			return editUnsafe("other keys changed")
		}
	}
	return nil
}
