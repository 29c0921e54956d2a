module github.com/bluelibs/runner-native

go 1.26.0

require (
	github.com/goccy/go-json v0.10.5
	github.com/stretchr/testify v1.11.1
	github.com/valyala/fasthttp v1.78.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
