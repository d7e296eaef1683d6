package settings

import "encoding/json"

// Secure values in a JSON settings file are counted while the file is
// parsed, walking each value token by token rather than decoding it.

// walkJSONConfig is walkJSON for the value of config, whose own keys are
// config keys: config itself is never a secure value, nor is anything but
// an object a config.
func walkJSONConfig(dec *json.Decoder) (secure int, str bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, false, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			if _, err := dec.Token(); err != nil {
				return 0, false, err
			}
			n, _, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			secure += n
		}
		_, err = dec.Token()
		return secure, false, err
	case json.Delim('['):
		for dec.More() {
			if _, _, err := walkJSON(dec); err != nil {
				return 0, false, err
			}
		}
		_, err = dec.Token()
		return 0, false, err
	}
	_, str = tok.(string)
	return 0, str, nil
}

// walkJSON reads one value from dec, token by token, and returns the
// number of secure values in it, as Pulumi recognises them (an object whose
// only key is secure, holding a string; with duplicate keys the last one
// counts, as encoding/json decodes them), and whether it is a string.
func walkJSON(dec *json.Decoder) (secure int, str bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, false, err
	}
	switch tok {
	case json.Delim('{'):
		keys, onlySecure, secureStr := 0, true, false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return 0, false, err
			}
			n, isStr, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			keys++
			secure += n
			if k == "secure" {
				secureStr = isStr
			} else {
				onlySecure = false
			}
		}
		if _, err := dec.Token(); err != nil {
			return 0, false, err
		}
		if keys > 0 && onlySecure && secureStr {
			return 1, false, nil
		}
		return secure, false, nil
	case json.Delim('['):
		for dec.More() {
			n, _, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			secure += n
		}
		_, err := dec.Token()
		return secure, false, err
	}
	_, str = tok.(string)
	return 0, str, nil
}
