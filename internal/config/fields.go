package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/multipart"
)

// ErrorKind names the JavaScript error a FieldError becomes.
type ErrorKind string

// The error kinds.
const (
	TypeError  ErrorKind = "TypeError"  // a value of the wrong type
	RangeError ErrorKind = "RangeError" // a value of the right type, out of range
)

// FieldError is an invalid TunnelConfig field. Message names the field, says what it
// must be and what it got, in the words JavaScript shows the user; Code is Node's code
// for the kind of mistake (see options.go), err.code in JavaScript.
type FieldError struct {
	Kind    ErrorKind `json:"kind"`
	Field   string    `json:"field"`
	Message string    `json:"message"`
	Code    string    `json:"code"`
}

func (e *FieldError) Error() string { return e.Message }

// Decode checks the JSON encoding of a TunnelConfig (see the package comment) and
// returns the effective configuration: every field validated, every default applied.
// A key that is no field's is reported first (a misspelt option must not be ignored),
// then the first invalid field, in the order of the table below.
func Decode(raw []byte) (Config, error) {
	var top any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return Config{}, &FieldError{Kind: TypeError, Message: "config must be an object such as { port: 7070 }", Code: CodeInvalidType}
	}
	obj, ok := top.(map[string]any)
	if !ok || isMarker(top) {
		return Config{}, &FieldError{Kind: TypeError, Message: "config must be an object such as { port: 7070 }", Code: CodeInvalidType}
	}
	if err := unknownKey("", obj, topLevelKeys()); err != nil {
		return Config{}, err
	}
	d := decoder{obj: obj}
	d.cfg.Protocol = Seed
	for _, f := range fields {
		v, present := lookup(obj, f.name)
		if !present {
			continue
		}
		if err := f.decode(&d, f.name, v); err != nil {
			return Config{}, err
		}
	}
	if err := d.finish(); err != nil {
		return Config{}, err
	}
	return d.cfg, nil
}

// Defaults returns the configuration of protocol p with every default applied and
// port 0: what Decode returns for {"port":0,"protocol":p}.
func Defaults(p Protocol) Config {
	c, err := Decode([]byte(`{"port":0,"protocol":` + strconv.Quote(string(p)) + `}`))
	if err != nil {
		panic("config: defaults do not validate: " + err.Error())
	}
	return c
}

// decoder accumulates one Decode. present records the fields given, for the defaults
// and the rules that span fields.
type decoder struct {
	obj     map[string]any
	cfg     Config
	present map[string]bool
}

func (d *decoder) mark(name string) {
	if d.present == nil {
		d.present = make(map[string]bool)
	}
	d.present[name] = true
}

// field is one row of the table: a TunnelConfig path and how to check and store it.
type field struct {
	name   string
	decode func(d *decoder, name string, v any) error
}

// intDef is an integer field's default for each protocol.
type intDef struct{ seed, runner int }

// The table. Defaults live in intDefaults and finish(); ranges and rules here.
var fields = []field{
	{"protocol", func(d *decoder, n string, v any) error {
		s, err := str(n, v, "'seed' or 'runner'")
		if err != nil {
			return err
		}
		switch Protocol(s) {
		case Seed, Runner:
			d.cfg.Protocol = Protocol(s)
			return nil
		}
		return valueErr(RangeError, n, "must be 'seed' or 'runner', got "+describe(v))
	}},
	{"port", func(d *decoder, n string, v any) error {
		p, err := integer(n, v, 0, 65535)
		d.cfg.Port = p
		d.mark(n)
		return err
	}},
	{"host", func(d *decoder, n string, v any) error {
		s, err := str(n, v, "a string such as \"127.0.0.1\"")
		d.cfg.Host = s
		return err
	}},
	{"basePath", func(d *decoder, n string, v any) error {
		s, err := str(n, v, "a string such as \"/__runner\"")
		if err != nil {
			return err
		}
		if strings.ContainsAny(s, "?#%") || strings.IndexFunc(s, isJSSpace) >= 0 {
			return valueErr(RangeError, n, "must not contain '?', '#', '%' or spaces, got "+describe(v))
		}
		d.cfg.BasePath = NormaliseBasePath(s)
		d.mark(n)
		return nil
	}},
	{"corsOrigins", func(d *decoder, n string, v any) error {
		list, ok := stringList(v, false)
		if !ok {
			return typeErr(n, "must be an array of non-empty strings, such as [\"*\"]")
		}
		d.cfg.CORS = seedCORS(list)
		d.mark(n)
		return nil
	}},
	{"cors", func(d *decoder, n string, v any) error {
		if _, given := lookup(d.obj, "corsOrigins"); given {
			return valueErr(TypeError, n, "cannot be set together with config.corsOrigins; use config.cors alone")
		}
		o, ok := v.(map[string]any)
		if !ok || isMarker(v) {
			return typeErr(n, "must be an object such as { origin: 'https://app.example' }, got "+describe(v))
		}
		c, err := runnerCORS(n, o)
		d.cfg.CORS = c
		d.mark(n)
		return err
	}},
	intField("maxBodySize", 1, 1<<31-1, func(c *Config) *int { return &c.MaxBodySize }),
	intField("maxStreamBodySize", 0, 1<<53, func(c *Config) *int { return &c.MaxStreamBodySize }),
	{"multipart", func(d *decoder, n string, v any) error {
		o, ok := v.(map[string]any)
		if !ok || isMarker(v) {
			return typeErr(n, "must be an object such as { fileSize: 20971520, files: 10 }, got "+describe(v))
		}
		lim, err := multipartLimits(n, o)
		d.cfg.Multipart = lim
		d.mark(n)
		return err
	}},
	intField("maxHeaderSize", 1, 1<<31-1, func(c *Config) *int { return &c.MaxHeaderSize }),
	intField("maxJsonDepth", 1, 1<<31-1, func(c *Config) *int { return &c.MaxJSONDepth }),
	intField("readTimeoutMs", 1, 1<<31-1, func(c *Config) *int { return &c.ReadTimeoutMs }),
	intField("requestTimeoutMs", 0, 1<<31-1, func(c *Config) *int { return &c.RequestTimeoutMs }),
	intField("writeTimeoutMs", 1, 1<<31-1, func(c *Config) *int { return &c.WriteTimeoutMs }),
	intField("idleTimeoutMs", 1, 1<<31-1, func(c *Config) *int { return &c.IdleTimeoutMs }),
	intField("maxConnections", 1, 1<<31-1, func(c *Config) *int { return &c.MaxConnections }),
	intField("maxInFlight", 1, MaxInFlightLimit, func(c *Config) *int { return &c.MaxInFlight }),
	intField("taskTimeoutMs", 0, 1<<31-1, func(c *Config) *int { return &c.TaskTimeoutMs }),
	intField("closeTimeoutMs", 0, 1<<31-1, func(c *Config) *int { return &c.CloseTimeoutMs }),
	boolField("reduceMemoryUsage", func(c *Config) *bool { return &c.ReduceMemoryUsage }),
	boolField("reusePort", func(c *Config) *bool { return &c.ReusePort }),
	{"auth", func(d *decoder, n string, v any) error {
		o, ok := v.(map[string]any)
		if !ok || isMarker(v) {
			return typeErr(n, "must be an object such as { token: 's3cret' }, got "+describe(v))
		}
		return d.decodeAuth(n, o)
	}},
	funcField("authValidator", func(c *Config) *bool { return &c.Auth.Validator }),
	funcField("onAuthFailure", func(c *Config) *bool { return &c.AuthFailureNotices }),
	funcField("onRequests", func(c *Config) *bool { return &c.AccessLog }),
	// onHandlerError: told of calls answered 5xx because their handler failed; only
	// JavaScript calls it.
	funcField("onHandlerError", nil),
	boolField("disableDiscovery", func(c *Config) *bool { return &c.DisableDiscovery }),
	{"exposure", func(d *decoder, n string, v any) error {
		s, err := str(n, v, "'open', 'list' or 'closed'")
		if err != nil {
			return err
		}
		switch Exposure(s) {
		case Open, List, Closed:
			d.cfg.Exposure = Exposure(s)
			return nil
		}
		return valueErr(RangeError, n, "must be 'open', 'list' or 'closed', got "+describe(v))
	}},
	{"serializer", func(d *decoder, n string, v any) error {
		o, ok := v.(map[string]any)
		if !ok || isMarker(v) || markerKind(o["parse"]) != "function" || markerKind(o["stringify"]) != "function" {
			return typeErr(n, "must be an object with parse(text) and stringify(value) functions, such as runner's Serializer, got "+describe(v))
		}
		d.cfg.Serializer = true
		return nil
	}},
}

// intDefaults are the defaults of the integer fields, by protocol.
var intDefaults = map[string]intDef{
	"maxBodySize":       {10 << 20, 2 << 20},
	"maxStreamBodySize": {0, 0},
	"maxHeaderSize":     {8 << 10, 16 << 10},
	"maxJsonDepth":      {512, 1000},
	"readTimeoutMs":     {30000, 30000},
	"requestTimeoutMs":  {300000, 300000},
	"writeTimeoutMs":    {30000, 30000},
	"idleTimeoutMs":     {30000, 5000}, // runner: Node's keepAliveTimeout, as nodeExposure
	"maxConnections":    {256 * 1024, 256 * 1024},
	"maxInFlight":       {10000, 10000},
	"taskTimeoutMs":     {0, 0},
	"closeTimeoutMs":    {10000, 10000},
}

// finish checks the rules that span fields and applies the defaults of absent fields.
func (d *decoder) finish() error {
	c := &d.cfg
	if !d.present["port"] {
		return typeErr("port", "must be an integer, got undefined")
	}
	if !d.present["basePath"] {
		c.BasePath = DefaultBasePath
	}
	for _, f := range fields {
		def, ok := intDefaults[f.name]
		if !ok || d.present[f.name] {
			continue
		}
		p := intPointers[f.name](c)
		if c.Protocol == Runner {
			*p = def.runner
		} else {
			*p = def.seed
		}
	}
	if !d.present["cors"] && !d.present["corsOrigins"] {
		if c.Protocol == Runner {
			c.CORS, _ = runnerCORS("cors", nil)
		} else {
			c.CORS = seedCORS([]string{"*"})
		}
	}
	if !d.present["multipart"] {
		c.Multipart = multipart.DefaultLimits
	}
	if c.Auth.Header == "" {
		c.Auth.Header = DefaultAuthHeader
	}
	if c.Exposure == "" {
		if c.Protocol == Runner {
			c.Exposure = List
		} else {
			c.Exposure = Open
		}
	}
	if d.present["auth"] && c.Protocol == Seed && !c.Auth.Required() {
		return typeErr("auth.token", "must be a non-empty string or a non-empty array of non-empty strings, got undefined")
	}
	return nil
}

// multipartLimits reads runner's http.limits.multipart as busboy reads it: a member that
// is not given is unlimited, but fieldSize (1 MiB); Infinity is unlimited. headerPairs
// and fieldNameSize are checked but change nothing: busboy reads neither for multipart
// bodies. Other members are ignored, as busboy ignores them.
func multipartLimits(n string, o map[string]any) (multipart.Limits, error) {
	lim := multipart.Limits{FileSize: -1, Files: -1, Fields: -1, FieldSize: 1 << 20, Parts: -1, ManifestSize: -1}
	for _, m := range []struct {
		key string
		ptr *int64
	}{
		{"fileSize", &lim.FileSize}, {"files", &lim.Files}, {"fields", &lim.Fields}, {"fieldSize", &lim.FieldSize},
		{"parts", &lim.Parts}, {"headerPairs", nil}, {"fieldNameSize", nil},
	} {
		v, ok := o[m.key]
		if !ok || isUndefined(v) {
			continue
		}
		x := int64(-1)
		if markerKind(v) != "number" || jsString(v) != "Infinity" {
			i, err := integer(n+"."+m.key, v, 0, 1<<53)
			if err != nil {
				return lim, err
			}
			x = int64(i)
		}
		if m.ptr != nil {
			*m.ptr = x
		}
		if m.key == "fieldSize" {
			lim.ManifestSize = x // runner's own check on the manifest, made when it names a fieldSize
		}
	}
	return lim, nil
}

func (d *decoder) decodeAuth(n string, o map[string]any) error {
	d.mark(n)
	if err := unknownKey(n+".", o, authKeys); err != nil {
		return err
	}
	if t, ok := o["token"]; ok && !isUndefined(t) {
		if s, isStr := t.(string); isStr && s != "" {
			d.cfg.Auth.Tokens = []string{s}
		} else if list, isList := stringList(t, false); isList && len(list) > 0 {
			d.cfg.Auth.Tokens = list
		} else {
			return typeErr(n+".token", "must be a non-empty string or a non-empty array of non-empty strings, got "+describe(t))
		}
	}
	if h, ok := o["header"]; ok && !isUndefined(h) {
		s, isStr := h.(string)
		if !isStr || !isToken(s) {
			return valueErr(TypeError, n+".header", "must be a valid header name, got "+describe(h))
		}
		d.cfg.Auth.Header = strings.ToLower(s)
	}
	if a, ok := o["allowAnonymous"]; ok && !isUndefined(a) {
		b, isBool := a.(bool)
		if !isBool {
			return typeErr(n+".allowAnonymous", "must be a boolean, got "+describe(a))
		}
		d.cfg.Auth.AllowAnonymous = b
	}
	return nil
}

// seedCORS is the policy of the seed's corsOrigins list: "*" anywhere allows every
// origin; otherwise a listed Origin is echoed with Vary: Origin. Preflight answers the
// route's methods, echoes the requested headers (else "Content-Type"), max-age a day.
func seedCORS(list []string) CORS {
	c := CORS{Mode: OriginList, Origins: list, Vary: true, DefaultAllowHeaders: "Content-Type", MaxAge: "86400"}
	for _, o := range list {
		if o == "*" {
			c.Mode, c.Origins, c.Vary = OriginAny, nil, false
		}
	}
	return c
}

// runnerCORS is runner's cors config (src/node/exposure/cors.ts@5.5.0). o may be nil
// (no cors config at all: "*").
func runnerCORS(n string, o map[string]any) (CORS, error) {
	c := CORS{Mode: OriginAny, Methods: []string{"POST", "OPTIONS"}, Vary: true}
	if err := unknownKey(n+".", o, corsKeys); err != nil {
		return c, err
	}
	for _, key := range []string{"methods", "allowedHeaders", "exposedHeaders"} {
		v, ok := o[key]
		if !ok || isUndefined(v) {
			continue
		}
		list, isList := stringList(v, true)
		if !isList {
			return c, typeErr(n+"."+key, "must be an array of strings, got "+describe(v))
		}
		switch key {
		case "methods":
			if len(list) > 0 {
				c.Methods = list
			}
		case "allowedHeaders":
			if len(list) > 0 {
				c.AllowedHeaders = list
			}
		default:
			c.ExposedHeaders = list
		}
	}
	for _, key := range []string{"credentials", "varyOrigin"} {
		v, ok := o[key]
		if !ok || isUndefined(v) {
			continue
		}
		b, isBool := v.(bool)
		if !isBool {
			return c, typeErr(n+"."+key, "must be a boolean, got "+describe(v))
		}
		if key == "credentials" {
			c.Credentials = b
		} else {
			c.Vary = b
		}
	}
	if v, ok := o["maxAge"]; ok && !isUndefined(v) {
		num, isNum := v.(json.Number)
		if !isNum {
			return c, typeErr(n+".maxAge", "must be a number of seconds, got "+describe(v))
		}
		c.MaxAge = num.String()
	}
	origin, given := o["origin"]
	switch {
	case !given || origin == nil || isUndefined(origin):
		if c.Credentials {
			c.Mode = OriginNone // runner refuses to echo any origin with credentials
		} else {
			c.Vary = false
		}
	case markerKind(origin) == "function" || markerKind(origin) == "regexp":
		c.Mode, c.Cacheable = OriginDynamic, markerKind(origin) == "regexp"
	default:
		if s, isStr := origin.(string); isStr {
			c.Mode, c.Origins, c.Vary = OriginFixed, []string{s}, false
		} else if list, isList := stringList(origin, true); isList {
			c.Mode, c.Origins = OriginList, list
		} else {
			return c, typeErr(n+".origin", "must be a string, an array of strings, a RegExp or a function, got "+describe(origin))
		}
	}
	return c, nil
}

var intPointers = map[string]func(*Config) *int{}

func intField(name string, lo, hi int, ptr func(*Config) *int) field {
	intPointers[name] = ptr
	return field{name, func(d *decoder, n string, v any) error {
		x, err := integer(n, v, lo, hi)
		if err == nil {
			*ptr(&d.cfg) = x
			d.mark(n)
		}
		return err
	}}
}

func boolField(name string, ptr func(*Config) *bool) field {
	return field{name, func(d *decoder, n string, v any) error {
		b, ok := v.(bool)
		if !ok {
			return typeErr(n, "must be a boolean, got "+describe(v))
		}
		*ptr(&d.cfg) = b
		return nil
	}}
}

// funcField is a JavaScript function; ptr (nil for a hook only JavaScript calls) records
// that it is set.
func funcField(name string, ptr func(*Config) *bool) field {
	return field{name, func(d *decoder, n string, v any) error {
		if markerKind(v) != "function" {
			return typeErr(n, "must be a function, got "+describe(v))
		}
		if ptr != nil {
			*ptr(&d.cfg) = true
		}
		return nil
	}}
}

func integer(n string, v any, lo, hi int) (int, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, typeErr(n, "must be an integer, got "+describe(v))
	}
	i, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		f, ferr := num.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, typeErr(n, "must be an integer, got "+describe(v))
		}
		// An integer written with an exponent (1e3) or too big for int64.
		if f < float64(lo) || f > float64(hi) {
			return 0, rangeErr(n, fmt.Sprintf("must be between %d and %d, got %s", lo, hi, describe(v)))
		}
		i = int64(f)
	}
	if i < int64(lo) || i > int64(hi) {
		return 0, rangeErr(n, fmt.Sprintf("must be between %d and %d, got %s", lo, hi, describe(v)))
	}
	return int(i), nil
}

func str(n string, v any, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", typeErr(n, "must be "+what+", got "+describe(v))
	}
	return s, nil
}

// stringList reads an array of strings; allowEmpty accepts "" elements.
func stringList(v any, allowEmpty bool) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, isStr := e.(string)
		if !isStr || (s == "" && !allowEmpty) {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func typeErr(field, msg string) error {
	return &FieldError{Kind: TypeError, Field: field, Message: "config." + field + " " + msg, Code: CodeInvalidType}
}

func rangeErr(field, msg string) error {
	return &FieldError{Kind: RangeError, Field: field, Message: "config." + field + " " + msg, Code: CodeOutOfRange}
}

// valueErr: a value of the right type that is not one of those allowed (Node throws
// ERR_INVALID_ARG_VALUE as a TypeError or a RangeError, as kind says).
func valueErr(kind ErrorKind, field, msg string) error {
	return &FieldError{Kind: kind, Field: field, Message: "config." + field + " " + msg, Code: CodeInvalidValue}
}

// lookup finds a top-level field; an explicit undefined counts as absent, as in
// JavaScript's destructuring defaults.
func lookup(obj map[string]any, name string) (any, bool) {
	v, ok := obj[name]
	if !ok || isUndefined(v) {
		return nil, false
	}
	return v, true
}

// Markers: lib/config.js encodes values JSON cannot carry as {"$js": kind, "text": String(v)}.
func isMarker(v any) bool { return markerKind(v) != "" }

func markerKind(v any) string {
	o, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	k, _ := o["$js"].(string)
	return k
}

func isUndefined(v any) bool { return markerKind(v) == "undefined" }

// describe renders v as the JavaScript wrapper has always shown values in messages:
// strings JSON-quoted, everything else as String(value) would.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	out := jsString(v)
	if len(out) > 80 {
		out = out[:77] + "..."
	}
	return out
}

// jsString is JavaScript's String(value) for a decoded value.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil && !isUndefined(e) {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if k := markerKind(x); k != "" {
			text, _ := x["text"].(string)
			return text
		}
		return "[object Object]"
	}
	return fmt.Sprint(v)
}

// IsToken reports whether s is an HTTP field name (RFC 9110 token).
func IsToken(s string) bool { return isToken(s) }

// isToken reports whether s is an HTTP field name (RFC 9110 token, internal/ascii).
func isToken(s string) bool { return ascii.IsToken(s) }

// isJSSpace matches JavaScript's \s.
func isJSSpace(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }
