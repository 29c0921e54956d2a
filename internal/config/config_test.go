package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/multipart"
)

func TestDefaultsPerProtocol(t *testing.T) {
	seed := Defaults(Seed)
	assert.Equal(t, Seed, seed.Protocol)
	assert.Equal(t, "/__runner", seed.BasePath)
	assert.Equal(t, OriginAny, seed.CORS.Mode)
	assert.Equal(t, "86400", seed.CORS.MaxAge)
	assert.Equal(t, 10<<20, seed.MaxBodySize)
	assert.Equal(t, 8<<10, seed.MaxHeaderSize)
	assert.Equal(t, 512, seed.MaxJSONDepth)
	assert.Equal(t, 10000, seed.MaxInFlight)
	assert.Equal(t, 10000, seed.CloseTimeoutMs)
	assert.Equal(t, 0, seed.TaskTimeoutMs)
	assert.Equal(t, 300000, seed.RequestTimeoutMs, "Node's requestTimeout")
	assert.Equal(t, Open, seed.Exposure)
	assert.Equal(t, "x-runner-token", seed.Auth.Header)

	runner := Defaults(Runner)
	assert.Equal(t, 2<<20, runner.MaxBodySize, "runner's JSON limit")
	assert.Equal(t, 16<<10, runner.MaxHeaderSize, "Node's header limit")
	assert.Equal(t, 1000, runner.MaxJSONDepth, "runner's serializer depth")
	assert.Equal(t, List, runner.Exposure)
	assert.Equal(t, 300000, runner.RequestTimeoutMs, "Node's requestTimeout")
	assert.Equal(t, []string{"POST", "OPTIONS"}, runner.CORS.Methods)
	assert.Equal(t, "", runner.CORS.MaxAge)
}

func TestBasePathNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		"/__runner": "/__runner", "__runner": "/__runner", "/__runner/": "/__runner",
		"//api//": "/api", "/": "", "": "", "/a/b/": "/a/b",
	} {
		c, err := Decode([]byte(`{"port":0,"basePath":"` + in + `"}`))
		require.NoError(t, err, in)
		assert.Equal(t, want, c.BasePath, "basePath %q", in)
	}
	c, err := Decode([]byte(`{"port":0}`))
	require.NoError(t, err)
	assert.Equal(t, "/__runner", c.BasePath, "absent is the default, not the root")
}

// Each case: a config, the error kind and message (or "" for valid).
func TestDecodeTable(t *testing.T) {
	cases := []struct {
		json, kind, message string
	}{
		{`7070`, "TypeError", "config must be an object such as { port: 7070 }"},
		{`null`, "TypeError", "config must be an object such as { port: 7070 }"},
		{`{}`, "TypeError", "config.port must be an integer, got undefined"},
		{`{"port":"7070"}`, "TypeError", `config.port must be an integer, got "7070"`},
		{`{"port":1.5}`, "TypeError", "config.port must be an integer, got 1.5"},
		{`{"port":{"$js":"number","text":"NaN"}}`, "TypeError", "config.port must be an integer, got NaN"},
		{`{"port":-1}`, "RangeError", "config.port must be between 0 and 65535, got -1"},
		{`{"port":65536}`, "RangeError", "config.port must be between 0 and 65535, got 65536"},
		{`{"port":1e3}`, "", ""},
		{`{"port":0,"host":5}`, "TypeError", `config.host must be a string such as "127.0.0.1", got 5`},
		{`{"port":0,"basePath":5}`, "TypeError", `config.basePath must be a string such as "/__runner", got 5`},
		{`{"port":0,"basePath":"/a?b"}`, "RangeError", `config.basePath must not contain '?', '#', '%' or spaces, got "/a?b"`},
		{`{"port":0,"basePath":"/a\tb"}`, "RangeError", `config.basePath must not contain '?', '#', '%' or spaces, got "/a\tb"`},
		{`{"port":0,"corsOrigins":"*"}`, "TypeError", `config.corsOrigins must be an array of non-empty strings, such as ["*"]`},
		{`{"port":0,"corsOrigins":[""]}`, "TypeError", `config.corsOrigins must be an array of non-empty strings, such as ["*"]`},
		{`{"port":0,"corsOrigins":["*"],"cors":{}}`, "TypeError", "config.cors cannot be set together with config.corsOrigins; use config.cors alone"},
		{`{"port":0,"cors":{"origin":5}}`, "TypeError", "config.cors.origin must be a string, an array of strings, a RegExp or a function, got 5"},
		{`{"port":0,"cors":{"credentials":"yes"}}`, "TypeError", `config.cors.credentials must be a boolean, got "yes"`},
		{`{"port":0,"cors":{"maxAge":"1"}}`, "TypeError", `config.cors.maxAge must be a number of seconds, got "1"`},
		{`{"port":0,"maxBodySize":0}`, "RangeError", "config.maxBodySize must be between 1 and 2147483647, got 0"},
		{`{"port":0,"maxBodySize":"1"}`, "TypeError", `config.maxBodySize must be an integer, got "1"`},
		{`{"port":0,"maxBodySize":2147483648}`, "RangeError", "config.maxBodySize must be between 1 and 2147483647, got 2147483648"},
		{`{"port":0,"idleTimeoutMs":-1}`, "RangeError", "config.idleTimeoutMs must be between 1 and 2147483647, got -1"},
		{`{"port":0,"maxInFlight":16777217}`, "RangeError", "config.maxInFlight must be between 1 and 16777216, got 16777217"},
		{`{"port":0,"taskTimeoutMs":0}`, "", ""},
		{`{"port":0,"closeTimeoutMs":0}`, "", ""},
		{`{"port":0,"requestTimeoutMs":0}`, "", ""},
		{`{"port":0,"requestTimeoutMs":-1}`, "RangeError", "config.requestTimeoutMs must be between 0 and 2147483647, got -1"},
		{`{"port":0,"reduceMemoryUsage":"yes"}`, "TypeError", `config.reduceMemoryUsage must be a boolean, got "yes"`},
		{`{"port":0,"auth":"abc"}`, "TypeError", `config.auth must be an object such as { token: 's3cret' }, got "abc"`},
		{`{"port":0,"auth":{"token":""}}`, "TypeError", `config.auth.token must be a non-empty string or a non-empty array of non-empty strings, got ""`},
		{`{"port":0,"auth":{"token":["a",""]}}`, "TypeError", `config.auth.token must be a non-empty string or a non-empty array of non-empty strings, got a,`},
		{`{"port":0,"auth":{}}`, "TypeError", "config.auth.token must be a non-empty string or a non-empty array of non-empty strings, got undefined"},
		{`{"port":0,"protocol":"runner","auth":{}}`, "", ""},
		{`{"port":0,"auth":{"token":"a","header":"bad header"}}`, "TypeError", `config.auth.header must be a valid header name, got "bad header"`},
		{`{"port":0,"auth":{"token":"a","allowAnonymous":1}}`, "TypeError", "config.auth.allowAnonymous must be a boolean, got 1"},
		{`{"port":0,"authValidator":true}`, "TypeError", "config.authValidator must be a function, got true"},
		{`{"port":0,"protocol":"grpc"}`, "RangeError", `config.protocol must be 'seed' or 'runner', got "grpc"`},
		{`{"port":0,"protocol":1}`, "TypeError", "config.protocol must be 'seed' or 'runner', got 1"},
		{`{"port":0,"exposure":"half"}`, "RangeError", `config.exposure must be 'open', 'list' or 'closed', got "half"`},
		{`{"port":0,"serializer":{}}`, "TypeError", "config.serializer must be an object with parse(text) and stringify(value) functions, such as runner's Serializer, got [object Object]"},
		{`{"port":0,"serializer":{"parse":{"$js":"function","text":"[function parse]"},"stringify":{"$js":"function","text":"[function]"}}}`, "", ""},
		{`{"port":0,"maxBodySize":{"$js":"undefined","text":"undefined"}}`, "", ""},
		{`{"port":0,"unknownField":{"$js":"undefined","text":"undefined"}}`, "", ""},
		{`{"port":0,"maxBodySise":1}`, "TypeError", "config.maxBodySise is not an option; did you mean config.maxBodySize?"},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.json))
		if c.kind == "" {
			assert.NoError(t, err, c.json)
			continue
		}
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, c.json) {
			assert.Equal(t, ErrorKind(c.kind), fe.Kind, c.json)
			assert.Equal(t, c.message, fe.Message, c.json)
		}
	}
}

func TestRunnerCORS(t *testing.T) {
	decode := func(js string) CORS {
		c, err := Decode([]byte(`{"port":0,"protocol":"runner","cors":` + js + `}`))
		require.NoError(t, err, js)
		return c.CORS
	}
	assert.Equal(t, OriginAny, decode(`{}`).Mode)
	assert.False(t, decode(`{}`).Vary)
	assert.Equal(t, OriginNone, decode(`{"credentials":true}`).Mode, "credentials without origin never echoes")
	fixed := decode(`{"origin":"https://a.example"}`)
	assert.Equal(t, OriginFixed, fixed.Mode)
	assert.False(t, fixed.Vary)
	list := decode(`{"origin":["https://a.example"],"varyOrigin":false}`)
	assert.Equal(t, OriginList, list.Mode)
	assert.False(t, list.Vary)
	re := decode(`{"origin":{"$js":"regexp","text":"/a/"}}`)
	assert.Equal(t, OriginDynamic, re.Mode)
	assert.True(t, re.Cacheable)
	fn := decode(`{"origin":{"$js":"function","text":"[function]"},"maxAge":1.5,"methods":["GET"]}`)
	assert.False(t, fn.Cacheable)
	assert.Equal(t, "1.5", fn.MaxAge)
	assert.Equal(t, []string{"GET"}, fn.Methods)
}

func TestAuthPolicy(t *testing.T) {
	c, err := Decode([]byte(`{"port":0,"auth":{"token":["a","b"],"header":"X-Key"}}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, c.Auth.Tokens)
	assert.Equal(t, "x-key", c.Auth.Header)
	assert.True(t, c.Auth.Required())
	c, err = Decode([]byte(`{"port":0,"protocol":"runner","authValidator":{"$js":"function","text":"[function]"}}`))
	require.NoError(t, err)
	assert.True(t, c.Auth.Validator)
	assert.True(t, c.Auth.Required())
	assert.False(t, Defaults(Runner).Auth.Required())
}

func TestMultipartLimits(t *testing.T) {
	c, err := Decode([]byte(`{"port":0,"protocol":"runner"}`))
	require.NoError(t, err)
	assert.Equal(t, multipart.DefaultLimits, c.Multipart, "absent: runner's defaults")

	c, err = Decode([]byte(`{"port":0,"multipart":{"fileSize":100}}`))
	require.NoError(t, err)
	assert.Equal(t, multipart.Limits{FileSize: 100, Files: -1, Fields: -1, FieldSize: 1 << 20, Parts: -1, ManifestSize: -1}, c.Multipart,
		"given: busboy's defaults for what it does not name, no manifest check without a fieldSize")

	c, err = Decode([]byte(`{"port":0,"multipart":{"files":{"$js":"number","text":"Infinity"},"fieldSize":7,"parts":3,"headerPairs":5,"fieldNameSize":9,"other":1}}`))
	require.NoError(t, err)
	assert.Equal(t, multipart.Limits{FileSize: -1, Files: -1, Fields: -1, FieldSize: 7, Parts: 3, ManifestSize: 7}, c.Multipart)

	for js, msg := range map[string]string{
		`{"port":0,"multipart":5}`:                   "config.multipart must be an object such as { fileSize: 20971520, files: 10 }, got 5",
		`{"port":0,"multipart":{"files":-1}}`:        "config.multipart.files must be between 0 and 9007199254740992, got -1",
		`{"port":0,"multipart":{"fileSize":"1"}}`:    `config.multipart.fileSize must be an integer, got "1"`,
		`{"port":0,"multipart":{"headerPairs":1.5}}`: "config.multipart.headerPairs must be an integer, got 1.5",
	} {
		_, err := Decode([]byte(js))
		require.Error(t, err, js)
		assert.Equal(t, msg, err.Error(), js)
	}
}

// Every FieldError carries Node's code for its kind of mistake, and a key no field has
// (a misspelt option) is refused, naming it, at the top level and in auth and cors;
// multipart's members are busboy's, which ignores the ones it does not know.
func TestUnknownKeysAndCodes(t *testing.T) {
	cases := []struct {
		json, kind, code, field, message string
	}{
		{`null`, "TypeError", CodeInvalidType, "", "config must be an object such as { port: 7070 }"},
		{`{"port":"1"}`, "TypeError", CodeInvalidType, "port", `config.port must be an integer, got "1"`},
		{`{"port":70000}`, "RangeError", CodeOutOfRange, "port", "config.port must be between 0 and 65535, got 70000"},
		{`{"port":0,"protocol":"grpc"}`, "RangeError", CodeInvalidValue, "protocol", `config.protocol must be 'seed' or 'runner', got "grpc"`},
		{`{"port":0,"exposure":"half"}`, "RangeError", CodeInvalidValue, "exposure", `config.exposure must be 'open', 'list' or 'closed', got "half"`},
		{`{"port":0,"basePath":"/a b"}`, "RangeError", CodeInvalidValue, "basePath", `config.basePath must not contain '?', '#', '%' or spaces, got "/a b"`},
		{`{"port":0,"corsOrigins":["*"],"cors":{}}`, "TypeError", CodeInvalidValue, "cors", "config.cors cannot be set together with config.corsOrigins; use config.cors alone"},
		{`{"port":0,"auth":{"token":"a","header":"a b"}}`, "TypeError", CodeInvalidValue, "auth.header", `config.auth.header must be a valid header name, got "a b"`},
		{`{"port":0,"maxBodySise":1}`, "TypeError", CodeUnknownOption, "maxBodySise", "config.maxBodySise is not an option; did you mean config.maxBodySize?"},
		{`{"port":0,"PORT":1}`, "TypeError", CodeUnknownOption, "PORT", "config.PORT is not an option; did you mean config.port?"},
		{`{"port":0,"zeta":1,"alpha":2}`, "TypeError", CodeUnknownOption, "alpha", "config.alpha is not an option (known: " + strings.Join(topLevelKeys(), ", ") + ")"},
		{`{"port":"x","maxBodySise":1}`, "TypeError", CodeUnknownOption, "maxBodySise", "config.maxBodySise is not an option; did you mean config.maxBodySize?"},
		{`{"port":0,"auth":{"token":"a","tokn":"b"}}`, "TypeError", CodeUnknownOption, "auth.tokn", "config.auth.tokn is not an option; did you mean config.auth.token?"},
		{`{"port":0,"cors":{"orign":"https://a.example"}}`, "TypeError", CodeUnknownOption, "cors.orign", "config.cors.orign is not an option; did you mean config.cors.origin?"},
		{`{"port":0,"cors":{"x":1}}`, "TypeError", CodeUnknownOption, "cors.x", "config.cors.x is not an option (known: origin, methods, allowedHeaders, exposedHeaders, credentials, maxAge, varyOrigin)"},
		{`{"port":0,"multipart":{"fileSize":1,"preservePath":true}}`, "", "", "", ""},
		{`{"port":0,"auth":{"token":"a","extra":{"$js":"undefined","text":"undefined"}}}`, "", "", "", ""},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.json))
		if c.kind == "" {
			assert.NoError(t, err, c.json)
			continue
		}
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, c.json) {
			assert.Equal(t, FieldError{Kind: ErrorKind(c.kind), Code: c.code, Field: c.field, Message: c.message}, *fe, c.json)
		}
	}
}

// Every row of the table is a known key, so that adding a field needs nothing else.
func TestEveryFieldIsAKnownKey(t *testing.T) {
	for _, f := range fields {
		assert.Nil(t, unknownKey("", map[string]any{f.name: 1}, topLevelKeys()), f.name)
	}
}
