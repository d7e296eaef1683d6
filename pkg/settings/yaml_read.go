package settings

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Reading a YAML settings file the way Pulumi does: its three fields, and
// the secure values under config.

// yamlFields mirrors how Pulumi reads the three fields.
type yamlFields struct {
	SecretsProvider string `yaml:"secretsprovider"`
	EncryptedKey    string `yaml:"encryptedkey"`
	EncryptionSalt  string `yaml:"encryptionsalt"`
}

// readFieldsYAML implements readFields for YAML.
func readFieldsYAML(data []byte) (Fields, error) {
	var f yamlFields
	if err := yaml.Unmarshal(data, &f); err != nil {
		return Fields{}, fmt.Errorf("read secrets provider fields: %w", err)
	}
	return Fields(f), nil
}

// secureValuesYAML implements SecureValues for YAML.
func secureValuesYAML(data []byte) (int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("not valid YAML: %w", err)
	}
	if emptyDocument(&doc) {
		return 0, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return 0, fmt.Errorf("the top level is a %s, not a mapping of keys", kindNames[root.Kind])
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "config" {
			return countSecureConfigYAML(root.Content[i+1]), nil
		}
	}
	return 0, nil
}

// countSecureConfigYAML counts secure values in the values of a config
// mapping (its keys are config keys, so config itself is never one).
func countSecureConfigYAML(config *yaml.Node) int {
	if config == nil || config.Kind != yaml.MappingNode {
		return 0
	}
	n := 0
	for i := 1; i < len(config.Content); i += 2 {
		n += countSecureYAML(config.Content[i])
	}
	return n
}

// countSecureYAML counts {secure: "…"} mappings in n, as Pulumi recognises
// them: a mapping with exactly one key, secure, holding a string. Aliases
// are not followed.
func countSecureYAML(n *yaml.Node) int {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == "secure" &&
			n.Content[1].Kind == yaml.ScalarNode && n.Content[1].Tag == "!!str" {
			return 1
		}
		c := 0
		for i := 1; i < len(n.Content); i += 2 {
			c += countSecureYAML(n.Content[i])
		}
		return c
	case yaml.SequenceNode:
		c := 0
		for _, item := range n.Content {
			c += countSecureYAML(item)
		}
		return c
	}
	return 0
}
