// Package settings finds a Pulumi project and edits the secrets provider
// fields of its stack settings files (Pulumi.<stack>.yaml). It reads no
// backend: the fields to write come from its caller (pkg/restore).
//
// The flow is: [FindProject] locates Pulumi.yaml (or .yml, .json) and
// [Project.SettingsPath] names the settings file of a stack the same way
// Pulumi does. [Edit] sets the three settings file fields ([Fields]:
// secretsprovider, encryptedkey, encryptionsalt) in the file's bytes,
// keeping every other byte (config, environment, comments, order, line
// endings), and [Update] replaces the file atomically, redoing the edit when
// another program changed the file in the meantime.
//
// Edit is pure and never prints or returns existing field values, so callers
// can report what changed without leaking secrets.
package settings
