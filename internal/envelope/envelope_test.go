package envelope

import (
	"strings"
	"testing"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvelopes(t *testing.T) {
	assert.Equal(t, `{"ok":true}`, string(AppendOK(nil)))
	assert.Equal(t, `{"ok":true,"result":8}`, string(AppendResult(nil, []byte("8"))))
}

func TestStringsAreEscaped(t *testing.T) {
	msgs := []string{"quote \" backslash \\ newline \n tab \t", "ctl \x00\x1f", "émoji 😀", "bad \xff utf8", "</script>"}
	for _, m := range msgs {
		out := AppendString(nil, []byte(m))
		var decoded string
		require.NoError(t, json.Unmarshal(out, &decoded), "%q -> %s", m, out)
		if m == "bad \xff utf8" {
			assert.Equal(t, "bad \uFFFD utf8", decoded)
		} else {
			assert.Equal(t, m, decoded)
		}
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 256)
	raw := []byte(`{"a":1}`)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendResult(buf[:0], raw)
		buf = AppendString(buf[:0], "Invalid JSON body: malformed JSON")
	})
	assert.Zero(t, allocs)
}

func BenchmarkAppendResult(b *testing.B) {
	buf := make([]byte, 0, 256)
	raw := []byte(`{"a":5,"b":3}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendResult(buf[:0], raw)
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendString(buf[:0], "Task not found: app.tasks.missing")
	}
}

// FuzzAppendString checks that any message, valid UTF-8 or not, becomes a JSON string
// that decodes back to the message (invalid bytes as U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" \\ \n\t", "\x00\x1f", "é😀", "bad \xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q -> invalid JSON %s: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && utf8.ValidString(s) {
			t.Fatalf("%q -> %q", s, back)
		}
	})
}
