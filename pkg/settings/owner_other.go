//go:build !unix

package settings

import (
	"io/fs"
	"os"
)

// keepOwner does nothing where files have no unix owner.
func (updater) keepOwner(*os.File, fs.FileInfo) {}
