package jsonscan

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"encoding/json" // the reference oracle: go-json's Valid accepts some invalid documents
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemberFindsTopLevelValue(t *testing.T) {
	cases := []struct {
		doc, want string
		found     bool
	}{
		{`{"input":{"a":5,"b":3}}`, `{"a":5,"b":3}`, true},
		{` { "input" : [1, 2, {"x": null}] } `, `[1, 2, {"x": null}]`, true},
		{`{"other":1,"input":"s\"tr"}`, `"s\"tr"`, true},
		{`{"input":0}`, `0`, true},
		{`{"input":false}`, `false`, true},
		{`{"input":null}`, `null`, true},
		{`{"input":""}`, `""`, true},
		{`{"input":1,"input":2}`, `2`, true},        // the last wins, as in JSON.parse
		{`{"\u0069nput":-1.5e+3}`, `-1.5e+3`, true}, // escaped member name
		{`{"nested":{"input":1}}`, ``, false},       // only the outer object counts
		{`{}`, ``, false},
		{`{"inputs":1}`, ``, false},
		{`{"input":"😀 é \u00e9"}`, `"😀 é \u00e9"`, true}, // unicode kept byte for byte
	}
	for _, c := range cases {
		v, found, err := Member([]byte(c.doc), "input", 64)
		require.NoError(t, err, c.doc)
		assert.Equal(t, c.found, found, c.doc)
		assert.Equal(t, c.want, string(v), c.doc)
	}
}

func TestMemberRejects(t *testing.T) {
	cases := map[string]error{
		``:                     ErrSyntax,
		`{`:                    ErrSyntax,
		`{"input":}`:           ErrSyntax,
		`{"input":1,}`:         ErrSyntax,
		`{"input":1}x`:         ErrSyntax,
		`{"input":01}`:         ErrSyntax,
		`{"input":1.}`:         ErrSyntax,
		`{"input":-}`:          ErrSyntax,
		`{"input":tru}`:        ErrSyntax,
		`{"input":"a\x01"}`:    ErrSyntax, // raw control character
		`{"input":"\x"}`:       ErrSyntax,
		`{"input":"\u12"}`:     ErrSyntax,
		`{'input':1}`:          ErrSyntax,
		`{"input":NaN}`:        ErrSyntax,
		`{"a":1 "b":2}`:        ErrSyntax,
		`[1,2]`:                ErrNotObject,
		`"input"`:              ErrNotObject,
		`42`:                   ErrNotObject,
		"{\"input\":\"\xff\"}": ErrUTF8,
		"{\"\xc3\x28\":1}":     ErrUTF8,
		`{"input":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`: ErrTooDeep,
	}
	for doc, want := range cases {
		_, _, err := Member([]byte(doc), "input", 64)
		assert.ErrorIs(t, err, want, "%q", doc)
	}
}

func TestDepthLimitIsExact(t *testing.T) {
	ok := strings.Repeat("[", 9) + strings.Repeat("]", 9) // 9 levels inside the object: 10 in all
	_, _, err := Member([]byte(`{"input":`+ok+`}`), "input", 10)
	assert.NoError(t, err)
	_, _, err = Member([]byte(`{"input":[`+ok+`]}`), "input", 10)
	assert.ErrorIs(t, err, ErrTooDeep)
}

func TestValid(t *testing.T) {
	assert.NoError(t, Valid([]byte(` [1, "x", {"a": true}] `), 8))
	assert.ErrorIs(t, Valid([]byte(`[1,]`), 8), ErrSyntax)
}

func TestMemberAllocatesNothing(t *testing.T) {
	doc := []byte(`{"input":{"a":5,"b":3,"list":[1,2,3],"s":"héllo"}}`)
	allocs := testing.AllocsPerRun(100, func() {
		_, _, _ = Member(doc, "input", 64)
	})
	assert.Zero(t, allocs)
}

func BenchmarkMemberSmall(b *testing.B) {
	doc := []byte(`{"input":{"a":5,"b":3}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		_, _, _ = Member(doc, "input", 512)
	}
}

// FuzzMember checks the scanner against go-json: both must agree on what is valid
// JSON (for valid UTF-8), and a found member must itself be valid JSON.
func FuzzMember(f *testing.F) {
	for _, seed := range []string{`{"input":{"a":5,"b":3}}`, `{"input":[1,"x",null]}`, `[]`, `{"a":"\u00e9"}`, `{"input":1e5}`, `{`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, found, err := Member(doc, "input", 512)
		// The iterative scanner finds what the recursive one it replaced found.
		ra, rb, ro, rerr := refMembers(doc, "input", "returnPayload", 512)
		if a, b, o, err2 := Members(doc, "input", "returnPayload", 512); err2 != rerr || o != ro || !bytes.Equal(a, ra) || !bytes.Equal(b, rb) {
			t.Fatalf("%q: got %q %q %v %v, the reference %q %q %v %v", doc, a, b, o, err2, ra, rb, ro, rerr)
		}
		if !utf8.Valid(doc) {
			return // go-json accepts invalid UTF-8 in strings; we reject it on purpose
		}
		validJSON := json.Valid(doc)
		if err == nil || err == ErrNotObject {
			if !validJSON {
				t.Fatalf("accepted invalid JSON %q", doc)
			}
		} else if err == ErrSyntax && validJSON {
			t.Fatalf("rejected valid JSON %q", doc)
		}
		if found && !json.Valid(v) {
			t.Fatalf("member %q of %q is not valid JSON", v, doc)
		}
	})
}
