package config

import (
	"sort"
	"strings"
)

// The Node-style codes a FieldError carries (err.code in JavaScript), as Node's own
// argument checks name them, so that callers can test a code instead of a message.
const (
	// CodeInvalidType: a value of the wrong type (TypeError).
	CodeInvalidType = "ERR_INVALID_ARG_TYPE"
	// CodeOutOfRange: a number outside its range (RangeError).
	CodeOutOfRange = "ERR_OUT_OF_RANGE"
	// CodeInvalidValue: a value of the right type that is not one of those allowed (a
	// protocol name, a header name, two fields that exclude each other).
	CodeInvalidValue = "ERR_INVALID_ARG_VALUE"
	// CodeUnknownOption: a key no setting has, such as a misspelt one (TypeError). Node
	// has no code for an unknown option of an API; this one says it in Node's style.
	CodeUnknownOption = "ERR_UNKNOWN_OPTION"
)

// The members of the nested objects the table reads whole. multipart is not among them:
// runner hands it to busboy, which ignores members it does not know, and so does Go.
var (
	authKeys = []string{"token", "header", "allowAnonymous"}
	corsKeys = []string{"origin", "methods", "allowedHeaders", "exposedHeaders", "credentials", "maxAge", "varyOrigin"}
)

// topLevelKeys are the names of the table's rows: a field added to the table is known
// here without anything else to change.
func topLevelKeys() []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// unknownKey returns an error for the first key of obj (in sorted order, JSON objects
// having none that survives decoding) that is not in known, or nil. prefix is the path
// of obj ("" for the config itself, "auth." for config.auth). A key whose value is an
// explicit undefined counts as absent, as for known keys: spreading an options object
// with optional members must not fail.
func unknownKey(prefix string, obj map[string]any, known []string) error {
	var bad []string
	for k, v := range obj {
		if !isUndefined(v) && !contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	name := prefix + bad[0]
	msg := "config." + name + " is not an option"
	if near := closest(bad[0], known); near != "" {
		msg += "; did you mean config." + prefix + near + "?"
	} else {
		msg += " (known: " + strings.Join(known, ", ") + ")"
	}
	return &FieldError{Kind: TypeError, Field: name, Message: msg, Code: CodeUnknownOption}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the known name nearest to key, if it is a likely misspelling: the
// same letters in another case, or at most two edits away (one for short names).
func closest(key string, known []string) string {
	best, bestDist := "", 3
	if len(key) <= 4 {
		bestDist = 2
	}
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes; the names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
