package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	c := Config{Port: 7070}.WithDefaults()
	assert.Equal(t, "/__runner", c.BasePath)
	assert.Equal(t, []string{"*"}, c.CorsOrigins)
	assert.Equal(t, 10<<20, c.MaxBodySize)
	assert.Equal(t, 8<<10, c.MaxHeaderSize)
	assert.Equal(t, 512, c.MaxJSONDepth)
	require.NoError(t, c.Validate())
}

func TestNormaliseBasePath(t *testing.T) {
	for in, want := range map[string]string{
		"/__runner": "/__runner", "__runner": "/__runner", "/__runner/": "/__runner",
		"//api//": "/api", "/": "", "/a/b/": "/a/b",
	} {
		assert.Equal(t, want, NormaliseBasePath(in), in)
	}
	assert.Equal(t, "", Config{BasePath: "/"}.WithDefaults().BasePath)
}

func TestValidateNamesTheField(t *testing.T) {
	cases := map[string]Config{
		"port":           {Port: 70000},
		"basePath":       {BasePath: "/a?b"},
		"maxBodySize":    {MaxBodySize: -1},
		"idleTimeoutMs":  {IdleTimeoutMs: -5},
		"corsOrigins":    {CorsOrigins: []string{""}},
		"maxConnections": {MaxConnections: -1},
	}
	for field, c := range cases {
		err := c.WithDefaults().Validate()
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), field)
	}
}
