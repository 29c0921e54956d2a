package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCodesDefinedOnce fails if a Go file outside this package (tests aside) writes one
// of the codes this package defines as a string literal: every answer's code is read
// from here (the JavaScript side has its own check in test/answers.test.js).
func TestCodesDefinedOnce(t *testing.T) {
	codes := Codes()
	if !codes["FILE_DISCARDED"] || !codes["BAD_REQUEST"] || !codes["REQUEST_ABORTED"] {
		t.Fatalf("Codes() misses known codes: %v", codes)
	}
	// The module's code is cmd/ and internal/; other folders may hold other checkouts
	// (bench --baseline builds older commits under bench/results) that are not ours to check.
	found := 0
	check := func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "protocol":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		found++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && codes[s] {
				t.Errorf("%s: the code %q is written here; use internal/protocol's answer", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	}
	for _, dir := range []string{"cmd", "internal"} {
		if err := filepath.WalkDir(filepath.Join("..", "..", dir), check); err != nil {
			t.Fatal(err)
		}
	}
	if found < 30 {
		t.Fatalf("walked only %d Go files: wrong root?", found)
	}
}

// TestAnswersWellFormed: every named answer has an upper-case code and a message the
// guard may write unescaped.
func TestAnswersWellFormed(t *testing.T) {
	for _, a := range all {
		if a.Code == "" || strings.ToUpper(a.Code) != a.Code || a.Message == "" {
			t.Errorf("malformed answer %+v", *a)
		}
		if strings.ContainsAny(a.Message, "\"\\") {
			t.Errorf("answer %q: its message needs escaping", a.Code)
		}
	}
	for name, v := range Constants() {
		if v.(map[string]any)["code"] == "" {
			t.Errorf("constant %s has no code", name)
		}
	}
}
