package settings

import "fmt"

// editUnsafe returns the error an edit is refused with when the edited file,
// parsed again, does not hold the wanted fields and every other entry of
// the original (why says which).
func editUnsafe(why string) error {
	return fmt.Errorf("cannot edit this file safely (%s); set the secrets provider fields by hand", why)
}
