# Developer shortcuts; npm scripts are the source of truth.
.PHONY: build test test-go test-js test-process bench fuzz clean

build:
	node scripts/build.js

test: build
	npm test

test-go:
	go test -count=1 -race ./...

test-js: build
	npx mocha

# The suite again with the Go server as a program beside Node (musl's transport).
test-process: build
	npm run test:process

bench: build
	npm run bench

fuzz:
	go test -run '^$$' -fuzz '^FuzzMember$$' -fuzztime 60s ./internal/jsonscan
	go test -run '^$$' -fuzz '^FuzzDepth$$' -fuzztime 60s ./internal/jsonscan
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./internal/route
	go test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime 60s ./internal/envelope
	go test -run '^$$' -fuzz '^FuzzGuard$$' -fuzztime 60s ./internal/httpguard
	go test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime 60s ./internal/multipart
	go test -run '^$$' -fuzz '^FuzzStreamHeaders$$' -fuzztime 60s ./internal/server

clean:
	rm -rf build bench/results
	go clean -testcache
