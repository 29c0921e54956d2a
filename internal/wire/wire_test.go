package wire

import (
	"bytes"
	"encoding/binary"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upperSnake turns a Go constant name into the JavaScript name: KindTask → KIND_TASK,
// FlagHasHTTPCode → FLAG_HAS_HTTP_CODE.
func upperSnake(name string) string {
	var b strings.Builder
	runes := []rune(name)
	for i, r := range runes {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(runes[i-1]) || i+1 < len(runes) && unicode.IsLower(runes[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Every exported constant of this package reaches JavaScript, under its upper-snake
// name, with its value: JavaScript reads them all from Constants(), so a constant added
// here and forgotten there fails this test, not an end-to-end one.
func TestConstantsCarryEveryConstant(t *testing.T) {
	var got map[string]any
	require.NoError(t, json.Unmarshal(Constants(), &got))
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "wire.go", nil, 0)
	require.NoError(t, err)
	seen := 0
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			for _, name := range spec.(*ast.ValueSpec).Names {
				if !name.IsExported() || name.Name == "ExtraCount" {
					continue
				}
				js := upperSnake(name.Name)
				v, ok := got[js]
				if assert.True(t, ok, "%s is missing from Constants() as %s", name.Name, js) {
					seen++
					assert.EqualValues(t, constValue(t, name.Name), v, js)
				}
			}
		}
	}
	assert.Greater(t, seen, 40)
	assert.Equal(t, len(Stats), len(got["STATS"].([]any)))
}

func constValue(t *testing.T, name string) float64 {
	values := map[string]int{
		"CallHeader": CallHeader, "ExtraHeader": ExtraHeader, "AnswerHeader": AnswerHeader, "FieldLen": FieldLen,
		"CallAtID": CallAtID, "CallAtKind": CallAtKind, "CallAtFlags": CallAtFlags, "CallAtAux": CallAtAux, "CallAtSlot": CallAtSlot, "CallAtInputLen": CallAtInputLen, "CallAtExtraLen": CallAtExtraLen, "ExtraAtTag": ExtraAtTag, "ExtraAtLen": ExtraAtLen, "AnswerAtID": AnswerAtID, "AnswerAtKind": AnswerAtKind, "AnswerAtFlags": AnswerAtFlags, "AnswerAtStatus": AnswerAtStatus, "AnswerAtLen": AnswerAtLen, "AnswerAtHTTPCode": AnswerAtHTTPCode,
		"RegHeader": RegHeader, "RegAtKind": RegAtKind, "RegAtFlags": RegAtFlags, "RegAtIDLen": RegAtIDLen, "RegAtSlot": RegAtSlot, "RegListed": RegListed, "RegMissing": RegMissing,
		"KindTask": KindTask, "KindEvent": KindEvent, "KindCheck": KindCheck, "KindAbort": KindAbort, "KindNotice": KindNotice,
		"FlagHasInput": FlagHasInput, "CheckAuth": CheckAuth, "CheckOrigin": CheckOrigin, "NoticeAuthFailure": NoticeAuthFailure, "NoticeAccess": NoticeAccess, "AccessHeader": AccessHeader, "AccessMaxString": AccessMaxString,
		"AccessAtTime": AccessAtTime, "AccessAtDuration": AccessAtDuration, "AccessAtBytesIn": AccessAtBytesIn, "AccessAtBytesOut": AccessAtBytesOut,
		"AccessAtStatus": AccessAtStatus, "AccessAtRemotePort": AccessAtRemotePort, "AccessAtKind": AccessAtKind, "AccessAtLengths": AccessAtLengths,
		"AbortTimeout": AbortTimeout, "AbortDisconnect": AbortDisconnect, "AbortClosing": AbortClosing, "AbortShuttingDown": AbortShuttingDown, "AbortTooLarge": AbortTooLarge, "AbortBadHeader": AbortBadHeader,
		"ExtraRequestID": ExtraRequestID, "ExtraContext": ExtraContext, "ExtraReturnPayload": ExtraReturnPayload,
		"ExtraOrigin": ExtraOrigin, "ExtraMethod": ExtraMethod, "ExtraURL": ExtraURL, "ExtraPath": ExtraPath, "ExtraCode": ExtraCode,
		"AnswerResult": AnswerResult, "AnswerNoResult": AnswerNoResult, "AnswerError": AnswerError, "AnswerVerdict": AnswerVerdict,
		"AnswerBadInput": AnswerBadInput, "AnswerUnencodable": AnswerUnencodable,
		"FlagHasCode": FlagHasCode, "FlagHasID": FlagHasID, "FlagHasData": FlagHasData, "FlagHasHTTPCode": FlagHasHTTPCode,
		"FlagDataUndefined": FlagDataUndefined, "FlagAllow": FlagAllow,
		"SignalWake": SignalWake, "SignalClosed": SignalClosed, "SignalFailed": SignalFailed, "ExchangeWake": ExchangeWake, "ExchangeFlush": ExchangeFlush,
		"KindCredit": KindCredit, "KindBody": KindBody, "FlagBodyStream": FlagBodyStream, "FlagEnd": FlagEnd, "FlagFailed": FlagFailed,
		"StreamWindow": StreamWindow, "BodyChunk": BodyChunk, "AnswerStreamStart": AnswerStreamStart, "AnswerChunk": AnswerChunk,
		"AnswerEnd": AnswerEnd, "AnswerStreamError": AnswerStreamError, "AnswerBodyCredit": AnswerBodyCredit,
		"FlagMultipart": FlagMultipart, "FlagPart": FlagPart, "FlagDiscard": FlagDiscard,
		"ExtraFileID": ExtraFileID, "ExtraFilename": ExtraFilename, "ExtraFilenameCharset": ExtraFilenameCharset, "ExtraFileType": ExtraFileType, "ExtraHeaders": ExtraHeaders,
	}
	v, ok := values[name]
	if !assert.True(t, ok, "add %s to constValue", name) {
		return -1
	}
	return float64(v)
}

func answer(id uint32, kind, flags byte, status uint16, httpCode uint32, payload []byte) []byte {
	rec := make([]byte, AnswerHeader, AnswerHeader+len(payload))
	binary.LittleEndian.PutUint32(rec[0:], id)
	rec[4], rec[5] = kind, flags
	binary.LittleEndian.PutUint16(rec[6:], status)
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[12:], httpCode)
	return append(rec, payload...)
}

func field(s string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func TestAnswersRoundTrip(t *testing.T) {
	payload := append(append(append(field("E_CODE"), field("message")...), field("app.errors.x")...), field(`{"a":1}`)...)
	batch := append(answer(7, AnswerResult, 0, 0, 0, []byte(`42`)),
		answer(9, AnswerError, FlagHasCode|FlagHasID|FlagHasData|FlagHasHTTPCode, 404, 404, payload)...)
	a, rest, err := NextAnswer(batch)
	require.NoError(t, err)
	assert.Equal(t, Answer{ID: 7, Kind: AnswerResult, Payload: []byte("42")}, a)
	b, rest, err := NextAnswer(rest)
	require.NoError(t, err)
	assert.Empty(t, rest)
	assert.Equal(t, 404, b.Status)
	assert.Equal(t, 404, b.HTTPCode)
	f, err := SplitError(b)
	require.NoError(t, err)
	assert.Equal(t, ErrorFields{Code: []byte("E_CODE"), Message: []byte("message"), ID: []byte("app.errors.x"), Data: []byte(`{"a":1}`)}, f)
}

func TestCorruptAnswersAreRefused(t *testing.T) {
	for name, batch := range map[string][]byte{
		"short header":     {1, 2, 3},
		"length past end":  answer(1, AnswerResult, 0, 0, 0, []byte("x"))[:AnswerHeader],
		"error fields cut": answer(1, AnswerError, FlagHasCode, 500, 0, []byte{9, 0, 0, 0, 'a'}),
		"trailing bytes":   answer(1, AnswerError, 0, 500, 0, append(field("m"), 'x')),
	} {
		a, _, err := NextAnswer(batch)
		if err == nil {
			_, err = SplitError(a)
		}
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
}

func TestPutRecord(t *testing.T) {
	var extras [ExtraCount][]byte
	extras[ExtraRequestID] = []byte("rid")
	extras[ExtraContext] = []byte("{}")
	input := []byte(`{"a":1}`)
	rec := make([]byte, RecordSize(input, &extras))
	n := PutRecord(rec, 0x01000005, KindTask, FlagHasInput, 0, 3, input, &extras)
	require.Equal(t, len(rec), n)
	assert.EqualValues(t, 0x01000005, binary.LittleEndian.Uint32(rec[0:]))
	assert.EqualValues(t, KindTask, rec[4])
	assert.EqualValues(t, 3, binary.LittleEndian.Uint32(rec[8:]))
	assert.EqualValues(t, len(input), binary.LittleEndian.Uint32(rec[12:]))
	assert.EqualValues(t, 2*ExtraHeader+5, binary.LittleEndian.Uint32(rec[16:]))
	assert.Equal(t, input, rec[CallHeader:CallHeader+len(input)])
	x := rec[CallHeader+len(input):]
	assert.EqualValues(t, ExtraRequestID, binary.LittleEndian.Uint32(x))
	assert.Equal(t, "rid", string(x[ExtraHeader:ExtraHeader+3]))
}

func TestAppendAccessLayout(t *testing.T) {
	long := bytes.Repeat([]byte("p"), AccessMaxString+10)
	a := Access{
		Time:     time.UnixMicro(1_700_000_000_123_456),
		Duration: 1500 * time.Microsecond,
		BytesIn:  1 << 40, BytesOut: 12,
		Status: 404, Kind: KindEvent,
		Method: []byte("POST"), Path: long, ID: []byte("app.ev"), RequestID: []byte("r-1"),
		Remote: netip.MustParseAddrPort("[::ffff:127.0.0.1]:5001"),
	}
	rec := AppendAccess([]byte("x"), &a)[1:]
	f := func(at int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(rec[at:])) }
	assert.Equal(t, 1_700_000_000_123.456, f(0), "time in ms")
	assert.Equal(t, 1.5, f(8), "duration in ms")
	assert.Equal(t, float64(1<<40), f(16))
	assert.Equal(t, 12.0, f(24))
	assert.EqualValues(t, 404, binary.LittleEndian.Uint16(rec[32:]))
	assert.EqualValues(t, 5001, binary.LittleEndian.Uint16(rec[34:]))
	assert.EqualValues(t, KindEvent, rec[36])
	var strs []string
	at := AccessHeader
	for i := 0; i < 5; i++ {
		n := int(binary.LittleEndian.Uint16(rec[38+2*i:]))
		strs = append(strs, string(rec[at:at+n]))
		at += n
	}
	assert.Equal(t, len(rec), at, "the record ends after its strings")
	assert.Equal(t, len(rec), AccessSize(rec))
	assert.Equal(t, []string{"POST", string(long[:AccessMaxString]), "app.ev", "r-1", "127.0.0.1"}, strs, "strings, the path cut, the address unmapped")

	none := AppendAccess(nil, &Access{Status: 200})
	assert.Len(t, none, AccessHeader, "no strings, no remote")
	buf := make([]byte, 0, 4096)
	assert.Zero(t, testing.AllocsPerRun(50, func() { buf = AppendAccess(buf[:0], &a) }))
}
