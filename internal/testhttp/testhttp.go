// Package testhttp holds the HTTP client helpers that the Go tests of several packages
// share. Only tests import it.
package testhttp

import (
	"io"
	"net/http"
	"strings"
)

// Reply is what one POST got: its status and body, or the error that ended it.
type Reply struct {
	Status int
	Body   string
	Err    error
}

// PostAsync POSTs body as JSON to url from another goroutine and delivers the reply on
// the channel it returns, so that a test can hold several calls open at once and make
// its assertions on the test goroutine.
func PostAsync(url, body string) <-chan Reply {
	ch := make(chan Reply, 1)
	go func() {
		res, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			ch <- Reply{Err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- Reply{Status: res.StatusCode, Body: string(b), Err: err}
	}()
	return ch
}
