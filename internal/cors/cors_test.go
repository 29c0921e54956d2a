package cors

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAnyOrigin(t *testing.T) {
	p := New([]string{"*"})
	assert.True(t, p.Any())
	assert.Equal(t, "*", string(p.AllowOrigin([]byte("https://a.example"))))
	assert.Equal(t, "*", string(p.AllowOrigin(nil)))
}

func TestListedOrigins(t *testing.T) {
	p := New([]string{"https://a.example", "http://localhost:3000"})
	assert.False(t, p.Any())
	assert.Equal(t, "https://a.example", string(p.AllowOrigin([]byte("https://a.example"))))
	assert.Equal(t, "http://localhost:3000", string(p.AllowOrigin([]byte("http://localhost:3000"))))
	assert.Nil(t, p.AllowOrigin([]byte("https://evil.example")))
	assert.Nil(t, p.AllowOrigin([]byte("https://A.example")), "origins compare exactly")
	assert.Nil(t, p.AllowOrigin(nil))
}

func TestEmptyListAllowsNone(t *testing.T) {
	p := New([]string{})
	assert.Nil(t, p.AllowOrigin([]byte("https://a.example")))
}
