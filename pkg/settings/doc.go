// Package settings finds a Pulumi project and restores the secrets provider
// fields of its stack settings files (Pulumi.<stack>.yaml).
//
// The flow is: [FindProject] locates Pulumi.yaml (or .yml, .json) and
// [Project.SettingsPath] names the settings file of a stack the same way
// Pulumi does. [FieldsFor] turns the secrets provider recorded in state into
// the three settings file fields (secretsprovider, encryptedkey,
// encryptionsalt), [Edit] rewrites only those fields in the file's bytes,
// keeping every other byte (config, environment, comments, order, line
// endings), and [Update] replaces the file atomically, redoing the edit when
// another program changed the file in the meantime.
//
// Edit is pure and never prints or returns existing field values, so callers
// can report what changed without leaking secrets.
package settings
