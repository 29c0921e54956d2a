package gohandlers

import (
	"errors"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
)

// RegisterExamples registers, in Go, the handlers of the example and benchmark servers
// (examples/server.js, bench/servers): the same ids and the same answers as their
// JavaScript twins.
func RegisterExamples(s *Set) {
	s.Task("app.tasks.add", add)
	s.Task("app.tasks.greet", greet)
	s.Task("app.tasks.complex", complex)
	s.Task("app.tasks.echo", echo)
	s.Task("app.tasks.sleep", sleep)
	s.Task("app.tasks.cpu", cpu)
	s.Event("app.events.notify", func([]byte) ([]byte, error) { return nil, nil })
}

func add(input []byte) ([]byte, error) {
	var in struct{ A, B float64 }
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, err
	}
	return json.Marshal(in.A + in.B)
}

func greet(input []byte) ([]byte, error) {
	var in struct{ Name string }
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, err
	}
	return json.Marshal("Hello, " + in.Name + "!")
}

func complex(input []byte) ([]byte, error) {
	var in struct{ Items []float64 }
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, err
	}
	sum := 0.0
	for _, v := range in.Items {
		sum += v
	}
	return json.Marshal(map[string]any{"count": len(in.Items), "sum": sum})
}

func echo(input []byte) ([]byte, error) {
	if input == nil {
		return nil, nil
	}
	return input, nil
}

func sleep(input []byte) ([]byte, error) {
	var in struct{ Ms int }
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, err
	}
	if in.Ms < 0 || in.Ms > 60_000 {
		return nil, errors.New("ms must be between 0 and 60000")
	}
	time.Sleep(time.Duration(in.Ms) * time.Millisecond)
	return []byte("true"), nil
}

// cpuRounds and cpuData are bench/handlers.js's: the same hashing, the same answer.
const cpuRounds = 160

var cpuData = func() []byte {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i * 31)
	}
	return b
}()

func cpu([]byte) ([]byte, error) {
	h := uint32(0x811c9dc5)
	for r := 0; r < cpuRounds; r++ {
		for _, c := range cpuData {
			h ^= uint32(c)
			h *= 0x01000193
		}
	}
	return []byte(`"` + strconv.FormatUint(uint64(h), 16) + `"`), nil
}
