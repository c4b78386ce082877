package mcp

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Stdio is the transport of hive mcp: newline-delimited JSON-RPC over in
// and out. Unlike the SDK's stdio transport it answers every request read
// before in ends: at the end of input it waits (up to drainTimeout) until
// each request has its response on out, so `hive mcp < requests` works as
// a pipeline does.
func Stdio(in io.Reader, out io.Writer) sdk.Transport {
	p := &pending{ids: map[string]bool{}}
	p.cond = sync.NewCond(&p.mu)
	return &sdk.IOTransport{
		Reader: &drainReader{r: in, p: p},
		Writer: &countWriter{w: out, p: p},
	}
}

// drainTimeout bounds the wait for answers after the end of input.
const drainTimeout = 60 * time.Second

// pending is the set of requests read and not yet answered.
type pending struct {
	mu   sync.Mutex
	cond *sync.Cond
	ids  map[string]bool
}

// scan calls fn for each message (or batch member) of the complete lines in
// *buf, leaving a partial line there.
func scan(buf *[]byte, data []byte, fn func(id json.RawMessage, method string)) {
	*buf = append(*buf, data...)
	for {
		i := bytes.IndexByte(*buf, '\n')
		if i < 0 {
			return
		}
		line := bytes.TrimSpace((*buf)[:i])
		*buf = (*buf)[i+1:]
		type msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		var batch []msg
		if len(line) > 0 && line[0] == '[' {
			json.Unmarshal(line, &batch)
		} else {
			var m msg
			if json.Unmarshal(line, &m) == nil {
				batch = []msg{m}
			}
		}
		for _, m := range batch {
			if len(m.ID) > 0 && string(m.ID) != "null" {
				fn(m.ID, m.Method)
			}
		}
	}
}

type drainReader struct {
	r   io.Reader
	p   *pending
	buf []byte
}

func (d *drainReader) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	d.p.mu.Lock()
	scan(&d.buf, b[:n], func(id json.RawMessage, method string) {
		if method != "" { // a request; a message with an id and no method answers one of ours
			d.p.ids[string(id)] = true
		}
	})
	d.p.mu.Unlock()
	if err == io.EOF {
		d.p.wait(drainTimeout)
	}
	return n, err
}

// Close does not close the input: it is the process's.
func (d *drainReader) Close() error { return nil }

func (p *pending) wait(limit time.Duration) {
	deadline := time.AfterFunc(limit, func() {
		p.mu.Lock()
		clear(p.ids)
		p.mu.Unlock()
		p.cond.Broadcast()
	})
	defer deadline.Stop()
	p.mu.Lock()
	for len(p.ids) > 0 {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

type countWriter struct {
	w   io.Writer
	p   *pending
	buf []byte
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.mu.Lock()
	scan(&c.buf, b[:n], func(id json.RawMessage, method string) {
		if method == "" { // a response
			delete(c.p.ids, string(id))
		}
	})
	c.p.mu.Unlock()
	c.p.cond.Broadcast()
	return n, err
}

// Close does not close the output: it is the process's.
func (c *countWriter) Close() error { return nil }
