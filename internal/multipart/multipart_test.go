package multipart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"testing/iotest"
)

// event renders what a reader gives, for comparisons: parts, file bytes, the end.
func events(t *testing.T, src io.Reader, needle []byte, lim Limits, readMax int) []string {
	t.Helper()
	m := NewReader(src, needle, lim)
	var out []string
	for {
		p, err := m.Next()
		if err == io.EOF {
			return append(out, "end")
		}
		if err != nil {
			return append(out, "error: "+err.Error())
		}
		if p.Manifest {
			out = append(out, "manifest "+string(p.Value))
			continue
		}
		var data bytes.Buffer
		for {
			b, err := m.Read(readMax)
			data.Write(b)
			if err == io.EOF {
				break
			}
			if err != nil {
				out = append(out, fmt.Sprintf("file %s %q %q %q: %s", p.ID, p.Filename, p.FilenameCharset, p.Type, data.String()))
				return append(out, "error: "+err.Error())
			}
		}
		out = append(out, fmt.Sprintf("file %s %q %q %q: %s", p.ID, p.Filename, p.FilenameCharset, p.Type, data.String()))
	}
}

const ctype = "multipart/form-data; boundary=XyZ"

func form(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--XyZ\r\n" + p + "\r\n")
	}
	b.WriteString("--XyZ--\r\n")
	return b.String()
}

const manifest = "Content-Disposition: form-data; name=\"__manifest\"\r\n\r\n{\"input\":1}"

func file(id, body string) string {
	return "Content-Disposition: form-data; name=\"file:" + id + "\"; filename=\"" + id + ".txt\"\r\nContent-Type: text/plain\r\n\r\n" + body
}

func TestForms(t *testing.T) {
	needle, ok := Needle([]byte(ctype))
	if !ok {
		t.Fatal("the content type parses")
	}
	lim := DefaultLimits
	small := Limits{FileSize: 5, Files: 1, Fields: 2, FieldSize: 20, Parts: -1, ManifestSize: 20}
	cases := []struct {
		name string
		body string
		lim  Limits
		want []string
	}{
		{"manifest then files", form(manifest, file("a", "hello"), file("b", "")), lim,
			[]string{`manifest {"input":1}`, `file a "a.txt" "" "text/plain": hello`, `file b "b.txt" "" "text/plain": `, "end"}},
		{"preamble and epilogue are ignored", "junk\r\n" + form(manifest) + "trailing junk", lim, []string{`manifest {"input":1}`, "end"}},
		{"no closing boundary: the field never ends", "--XyZ\r\n" + manifest + "\r\n", lim, []string{"error: Invalid multipart payload"}},
		{"empty body", "", lim, []string{"error: Invalid multipart payload"}},
		{"a part without header is malformed", "--XyZ\r\n\r\nvalue\r\n--XyZ--", lim, []string{"error: Invalid multipart payload"}},
		{"a bare LF in a header is malformed", "--XyZ\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--XyZ--", lim, []string{"error: Invalid multipart payload"}},
		{"other fields and files are dropped", form("Content-Disposition: form-data; name=\"other\"\r\n\r\nx", "Content-Disposition: form-data; name=\"up\"; filename=\"u\"\r\n\r\nbytes", manifest), lim,
			[]string{`manifest {"input":1}`, "end"}},
		{"a file: field without filename is a field", form(manifest, "Content-Disposition: form-data; name=\"file:a\"\r\n\r\nnot a file"), lim, []string{`manifest {"input":1}`, "end"}},
		{"octet-stream makes a file", form("Content-Disposition: form-data; name=\"file:a\"\r\nContent-Type: Application/Octet-Stream\r\n\r\nraw"), lim,
			[]string{`file a "" "" "application/octet-stream": raw`, "end"}},
		{"filename* wins, with its charset", form("Content-Disposition: form-data; name=\"file:a\"; filename=\"plain\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\nx"), lim,
			[]string{"file a \"\u00e9t\u00e9.txt\" \"UTF-8\" \"text/plain\": x", "end"}},
		// busboy 1.6 decodes extended parameters and fields only in its own charsets: in any
		// other, the disposition is malformed (the part is skipped, neither file nor field)
		// and a field's value is undefined (runner reads "undefined").
		{"filename* in another charset: the part is skipped", form(manifest, "Content-Disposition: form-data; name=\"file:a\"; filename*=x-user-defined''a.txt\r\n\r\nx"), lim,
			[]string{`manifest {"input":1}`, "end"}},
		{"filename* in another charset beside filename, as octet-stream: skipped", form(manifest, "Content-Disposition: form-data; name=\"file:a\"; filename=\"a\"; filename*=koi8-r''a.txt\r\nContent-Type: application/octet-stream\r\n\r\nx"), lim,
			[]string{`manifest {"input":1}`, "end"}},
		{"a skipped part counts toward no limit", form(manifest, "Content-Disposition: form-data; name=\"file:a\"; filename*=koi8-r''a\r\n\r\nx", file("b", "y")), small,
			[]string{`manifest {"input":1}`, `file b "b.txt" "" "text/plain": y`, "end"}},
		{"an empty filename* in another charset is empty: filename names the file", form("Content-Disposition: form-data; name=\"file:a\"; filename*=x-user-defined''; filename=\"b\"\r\n\r\nx"), lim,
			[]string{`file a "b" "" "text/plain": x`, "end"}},
		{"a manifest in another charset is undefined", form("Content-Disposition: form-data; name=\"__manifest\"\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n{}"), lim, []string{"manifest undefined", "end"}},
		{"an empty manifest is missing", form("Content-Disposition: form-data; name=\"__manifest\"\r\n\r\n"), lim, []string{"error: Missing manifest"}},
		{"a second manifest of whitespace is fine", form(manifest, "Content-Disposition: form-data; name=\"__manifest\"\r\n\r\n \t"), lim, []string{`manifest {"input":1}`, "end"}},
		{"a second manifest with more is invalid", form(manifest, "Content-Disposition: form-data; name=\"__manifest\"\r\n\r\n{}"), lim, []string{`manifest {"input":1}`, "error: Invalid manifest"}},
		{"a latin1 manifest becomes UTF-8", form("Content-Disposition: form-data; name=\"__manifest\"\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\n\"\xe9\""), lim, []string{"manifest \"\u00e9\"", "end"}},
		{"a file of exactly the size limit is refused", form(manifest, file("a", "12345")), small, []string{`manifest {"input":1}`, `file a "a.txt" "" "text/plain": 12345`, "error: File size limit exceeded"}},
		{"a file under the size limit passes", form(manifest, file("a", "1234")), small, []string{`manifest {"input":1}`, `file a "a.txt" "" "text/plain": 1234`, "end"}},
		{"files limit", form(file("a", "1"), file("b", "2")), small, []string{`file a "a.txt" "" "text/plain": 1`, "error: Files limit exceeded"}},
		{"fields limit", form(manifest, "Content-Disposition: form-data; name=x\r\n\r\n1", "Content-Disposition: form-data; name=y\r\n\r\n2"), small, []string{`manifest {"input":1}`, "error: Fields limit exceeded"}},
		{"a field of exactly its limit is refused", form("Content-Disposition: form-data; name=x\r\n\r\n" + strings.Repeat("v", 20)), small, []string{"error: Field limit exceeded"}},
		{"parts limit trips at the boundary ending that many parts", form(manifest, "Content-Disposition: form-data; name=x\r\n\r\n1"), Limits{FileSize: -1, Files: -1, Fields: -1, FieldSize: -1, Parts: 2, ManifestSize: -1},
			[]string{`manifest {"input":1}`, "error: Parts limit exceeded"}},
		{"data after a boundary with no CRLF is nobody's", "--XyZ  \r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n" + form(manifest), lim, []string{`manifest {"input":1}`, "end"}},
		{"a file cut by the end fails as its stream", "--XyZ\r\n" + file("a", "partial\r\n--X"), lim, []string{`file a "a.txt" "" "text/plain": partial` + "\r\n--X", "error: Multipart stream error"}},
		{"a folded header line goes on", form("Content-Disposition: form-data;\r\n name=\"__manifest\"\r\n\r\n7"), lim, []string{"manifest 7", "end"}},
		{"disposition not form-data is skipped", form("Content-Disposition: attachment; name=\"__manifest\"\r\n\r\n7"), lim, []string{"end"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			whole := events(t, strings.NewReader(c.body), needle, c.lim, 1<<20)
			if strings.Join(whole, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(whole, "\n  "), strings.Join(c.want, "\n  "))
			}
			// Byte by byte, and read in pieces of 3: the same.
			bytewise := events(t, iotest.OneByteReader(strings.NewReader(c.body)), needle, c.lim, 3)
			if strings.Join(bytewise, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("byte by byte: got\n  %s\nwant\n  %s", strings.Join(bytewise, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func TestNeedle(t *testing.T) {
	for _, c := range []struct {
		ct   string
		want string
		ok   bool
	}{
		{`multipart/form-data; boundary=abc`, "\r\n--abc", true},
		{`Multipart/Form-Data;boundary="a b\"c"`, "\r\n--a b\"c", true},
		{"multipart/form-data; boundary=\"\xe9\"", "\r\n--\xc3\xa9", true},
		{"multipart/form-data; boundary=\xe9", "", false},
		{`multipart/form-data`, "", false},
		{`multipart/mixed; boundary=abc`, "", false},
		{`text/plain; x=multipart/form-data`, "", false},
		{`multipart/form-data; boundary=`, "", false},
		{`multipart/form-data; boundary=abc;`, "", false},
		{`multipart/form-data; boundary=` + strings.Repeat("b", MaxBoundary+1), "", false},
	} {
		got, ok := Needle([]byte(c.ct))
		if ok != c.ok || string(got) != c.want {
			t.Errorf("Needle(%q) = %q, %v; want %q, %v", c.ct, got, ok, c.want, c.ok)
		}
	}
}

// Random forms split at random places read the same as whole ones.
func TestRandomSplits(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	needle, _ := Needle([]byte(ctype))
	for i := 0; i < 200; i++ {
		var parts []string
		parts = append(parts, manifest)
		for j := 0; j < rng.Intn(4); j++ {
			body := make([]byte, rng.Intn(200000))
			for k := range body {
				body[k] = "\r\n-XyZab"[rng.Intn(8)]
			}
			parts = append(parts, file(fmt.Sprint(j), string(body)))
		}
		body := form(parts...)
		want := events(t, strings.NewReader(body), needle, DefaultLimits, 1<<20)
		got := events(t, &randomReader{src: []byte(body), rng: rng}, needle, DefaultLimits, 1+rng.Intn(70000))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("form %d differs when split", i)
		}
		if want[len(want)-1] != "end" {
			t.Fatalf("form %d: %s", i, want[len(want)-1])
		}
	}
}

type randomReader struct {
	src []byte
	rng *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.src), 1+r.rng.Intn(5000))
	copy(p, r.src[:n])
	r.src = r.src[n:]
	return n, nil
}

func TestReadErrorsPassThrough(t *testing.T) {
	needle, _ := Needle([]byte(ctype))
	boom := errors.New("connection reset")
	m := NewReader(io.MultiReader(strings.NewReader("--XyZ\r\n"+file("a", "abc")), iotest.ErrReader(boom)), needle, DefaultLimits)
	if _, err := m.Next(); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := m.Read(10)
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want the body's error", err)
			}
			break
		}
	}
	if _, err := m.Next(); !errors.Is(err, boom) {
		t.Fatalf("the error is sticky: got %v", err)
	}
}

func TestHeaderBlockLimit(t *testing.T) {
	needle, _ := Needle([]byte(ctype))
	long := "--XyZ\r\nContent-Disposition: form-data; name=x\r\nX-Pad: " + strings.Repeat("p", maxHeaderSize) + "\r\n\r\nv\r\n--XyZ--"
	got := events(t, strings.NewReader(long), needle, DefaultLimits, 100)
	if got[0] != "error: Invalid multipart payload" {
		t.Fatalf("a header block over 16 KiB is malformed: %v", got)
	}
}

// chunked reads src in pieces of at most n bytes.
type chunked struct {
	src []byte
	n   int
}

func (r *chunked) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), len(r.src), r.n)
	copy(p, r.src[:k])
	r.src = r.src[k:]
	return k, nil
}

// FuzzReader: any body, split anywhere, read in any sizes: the reader never panics, ends
// (events returns), and gives the same parts, bytes and outcome as from one piece.
func FuzzReader(f *testing.F) {
	f.Add([]byte(form(manifest, file("a", "hello"), file("b", ""))), 7, 3)
	f.Add([]byte(form(file("early", "x"), manifest)), 1, 1)
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"__manifest\"\r\n\r\n{}\r\n--XyZ"), 2, 5)
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"file:f\"; filename*=UTF-8''%e2%82%ac.txt\r\n\r\nabc\r\n--XyZ--"), 3, 64)
	f.Add([]byte("garbage\r\n--XyZ--\r\n"), 1, 1)
	needle, _ := Needle([]byte(ctype))
	lim := Limits{FileSize: 1 << 16, Files: 4, Fields: 4, FieldSize: 1 << 12, Parts: 8, ManifestSize: 1 << 12}
	f.Fuzz(func(t *testing.T, body []byte, split, readMax int) {
		split = 1 + abs(split)%64
		readMax = 1 + abs(readMax)%4096
		want := events(t, bytes.NewReader(body), needle, lim, 1<<20)
		got := events(t, &chunked{src: body, n: split}, needle, lim, readMax)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("split %d, reads of %d:\n got %q\nwant %q", split, readMax, got, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
